/**
 * Which username and password answer a challenge: pyVoIP 2.0's `CredentialsManager`. A request can
 * cross several servers and be challenged by each, so credentials are filed by server, realm and
 * SIP user, any of which may be left out to match every value.
 *
 * Passwords are kept {@link Redacted}: printing, logging or serializing credentials shows
 * `<redacted>` instead.
 *
 * @since 0.1.0
 */
import { Context, Layer, Redacted } from "effect"
import type { UserCredentials } from "./sip/auth/Digest.ts"

/**
 * What `get` returns when nothing matches: RFC 3261 §22.1 lets a server accept the user
 * "anonymous" with an empty password.
 *
 * @category constructors
 * @since 0.1.0
 */
export const anonymousCredentials: UserCredentials = { username: "anonymous", password: Redacted.make("") }

/**
 * @category constructors
 * @since 0.1.0
 */
export const makeCredentials = (username: string, password: string | Redacted.Redacted<string>): UserCredentials => ({
  username,
  password: Redacted.isRedacted(password) ? password : Redacted.make(password)
})

/** `undefined` is the entry for any value, as pyVoIP's `None`. */
type Key = string | undefined

/**
 * The credentials store, with pyVoIP's `add` and `get`.
 *
 * @category models
 * @since 0.1.0
 */
export class CredentialsManager {
  readonly #byServer = new Map<Key, Map<Key, Map<Key, UserCredentials>>>()

  /**
   * Files a username and password for a server, a realm and/or a SIP user (the user part of the
   * URI, not the authentication username). A scope left out matches any value, so
   * `add(username, password, undefined, "asterisk")` answers the realm "asterisk" on every
   * server for every user. Adding the same scope again replaces its entry.
   */
  add(
    username: string,
    password: string | Redacted.Redacted<string>,
    server?: string,
    realm?: string,
    user?: string
  ): void {
    const byRealm = this.#byServer.get(server) ?? new Map<Key, Map<Key, UserCredentials>>()
    const byUser = byRealm.get(realm) ?? new Map<Key, UserCredentials>()
    byUser.set(user, makeCredentials(username, password))
    byRealm.set(realm, byUser)
    this.#byServer.set(server, byRealm)
  }

  /**
   * The credentials for a challenge, looked up by server, then realm, then user: an exact match
   * is preferred at each level over the "any" entry, and the server is the most significant
   * (a server's "any realm" entry wins over an "any server" entry for the realm). Anonymous
   * credentials when nothing matches.
   */
  get(server: string, realm: string, user: string): UserCredentials {
    for (const serverKey of [server, undefined]) {
      const byRealm = this.#byServer.get(serverKey)
      if (byRealm === undefined) continue
      for (const realmKey of [realm, undefined]) {
        const byUser = byRealm.get(realmKey)
        if (byUser === undefined) continue
        const found = byUser.get(user) ?? byUser.get(undefined)
        if (found !== undefined) return found
      }
    }
    return anonymousCredentials
  }
}

/**
 * The phone's credentials, from its context.
 *
 * @category services
 * @since 0.1.0
 */
export class Credentials extends Context.Service<Credentials, CredentialsManager>()("effect-voip/Credentials") {
  static readonly layer = (manager: CredentialsManager): Layer.Layer<Credentials> => Layer.succeed(Credentials, manager)
}
