/**
 * The Promise API (`effect-voip/promise`) in plain async/await, no Effect:
 * a bot that answers every call, plays one second of a 440 Hz tone, prints
 * each key the caller presses and hangs up on `#`. Prints one line per
 * event: `status REGISTERED`, `incoming <from>`, `answered`, `dtmf 1`,
 * `ended <reason>`. SIGINT or SIGTERM closes the phone (calls end, it
 * deregisters) and exits 0; a phone that does not start prints
 * `promise failed: <why>` and exits 1.
 *
 *   VOIP_NO_REGISTER=1 VOIP_USER=lab VOIP_BIND=127.0.0.1:5070 node --conditions=source examples/promise.ts
 *
 * Environment (as in examples/common.ts): VOIP_SERVER (host[:port]),
 * VOIP_USER, VOIP_AUTH_USER, VOIP_PASSWORD, VOIP_TRANSPORT (udp, tcp, tls),
 * VOIP_BIND (ip[:port], default 0.0.0.0:5060), VOIP_EXPIRES,
 * VOIP_NO_REGISTER=1 (peer-to-peer).
 */
import { Account } from "effect-voip"
import { type Call, CallState, createPhone, formatEndReason, formatUri, InvalidStateError, TransportMode } from "effect-voip/promise"
import { tone } from "./common.ts"

const transports: Record<string, TransportMode> = { udp: TransportMode.UDP, tcp: TransportMode.TCP, tls: TransportMode.TLS }

const fail = (why: string): never => {
  console.error(`promise failed: ${why}`)
  process.exit(1)
}

const hostPort = (name: string, text: string) => {
  const parsed = Account.parseHostPort(text)
  return parsed._tag === "Success" ? parsed.success : fail(`${name}: ${parsed.failure.message}`)
}

const bot = async (call: Call) => {
  console.log(`incoming ${call.remote === undefined ? "unknown" : formatUri(call.remote.uri)}`)
  await call.answer()
  if ((await call.state()) === CallState.ANSWERED) {
    console.log("answered")
    const playing = call.play(tone(440, 1))
    // ends when the call does, whoever hangs up
    for await (const digit of call.dtmf()) {
      console.log(`dtmf ${digit}`)
      if (digit === "#") {
        // the caller may have hung up meanwhile
        await call.hangup().catch((error: unknown) => {
          if (!(error instanceof InvalidStateError)) throw error
        })
        break
      }
    }
    await playing
  }
  console.log(`ended ${formatEndReason(await call.ended())}`)
}

const env = process.env
const user = env.VOIP_USER ?? fail("VOIP_USER is not set")
const bind = hostPort("VOIP_BIND", env.VOIP_BIND ?? "0.0.0.0:5060")
const server = env.VOIP_SERVER === undefined ? undefined : hostPort("VOIP_SERVER", env.VOIP_SERVER)
const transportMode = transports[env.VOIP_TRANSPORT ?? "udp"] ?? fail(`VOIP_TRANSPORT: ${env.VOIP_TRANSPORT} is not udp, tcp or tls`)

const phone = await createPhone({
  ...(server === undefined ? {} : { server: server.host }),
  ...(server?.port === undefined ? {} : { port: server.port }),
  user,
  ...(env.VOIP_PASSWORD === undefined ? {} : { credentials: { username: env.VOIP_AUTH_USER ?? user, password: env.VOIP_PASSWORD } }),
  bindIp: bind.host,
  bindPort: bind.port ?? 5060,
  transportMode,
  registerExpires: Number(env.VOIP_EXPIRES ?? 300),
  register: env.VOIP_NO_REGISTER !== "1",
  onIncomingCall: bot
}).catch((error: Error) => fail(error.message.replace(/\s*\n\s*/g, " ")))

// ends once the phone has closed, after DEREGISTERING and INACTIVE
const statuses = (async () => {
  for await (const status of phone.statusChanges()) console.log(`status ${status}`)
})()

await new Promise((resolve) => process.once("SIGINT", resolve).once("SIGTERM", resolve))
await phone.close()
await statuses
