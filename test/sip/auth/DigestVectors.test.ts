import { describe, expect, it } from "@effect/vitest"
import { Redacted, Result } from "effect"
import {
  authorize,
  computeDigest,
  type DigestComputation,
  entityBodyHash,
  formatNonceCount,
  parseChallenge
} from "../../../src/sip/auth/Digest.ts"
import { DigestAlgorithm, hashHex, parseDigestAlgorithm } from "../../../src/sip/auth/Hash.ts"
import { type AuthHeader, parseAuth } from "../../../src/sip/HeaderValues.ts"
import { readVectorJson } from "../../support/vectors.ts"

interface Vector {
  readonly id: string
  readonly protocol: "HTTP" | "SIP"
  readonly algorithm: string | null
  readonly qop: "auth" | "auth-int" | null
  readonly challenge_qop_options: string | null
  readonly username: string
  readonly realm: string
  readonly password: string
  readonly method: string
  readonly uri: string
  readonly nonce: string
  readonly nc: string | null
  readonly cnonce: string | null
  readonly opaque: string | null
  readonly entity_body?: string
  readonly entity_body_hash?: string
  readonly userhash?: boolean
  readonly expected: {
    readonly ha1: string
    readonly ha2: string
    readonly response: string
    readonly userhash?: string
    readonly entity_body_hash?: string
  }
}

const { vectors } = readVectorJson<{ readonly vectors: ReadonlyArray<Vector> }>("digest", "vectors.json")
const encoder = new TextEncoder()

const algorithmOf = (vector: Vector): DigestAlgorithm => {
  const algorithm = vector.algorithm === null ? DigestAlgorithm.MD5 : parseDigestAlgorithm(vector.algorithm)
  if (algorithm === undefined) throw new Error(`vector ${vector.id}: unknown algorithm ${vector.algorithm}`)
  return algorithm
}

const bodyHashOf = (vector: Vector): string => {
  const algorithm = algorithmOf(vector)
  if (vector.entity_body !== undefined) return entityBodyHash(algorithm, encoder.encode(vector.entity_body))
  return vector.entity_body_hash ?? entityBodyHash(algorithm, new Uint8Array())
}

/** The challenge the vector answers, as the server would have sent it. */
const challengeOf = (vector: Vector): AuthHeader => {
  const params = new Map<string, string>([["realm", vector.realm], ["nonce", vector.nonce]])
  if (vector.algorithm !== null) params.set("algorithm", vector.algorithm)
  if (vector.challenge_qop_options !== null) params.set("qop", vector.challenge_qop_options)
  if (vector.opaque !== null) params.set("opaque", vector.opaque)
  if (vector.userhash === true) params.set("userhash", "true")
  return { scheme: "Digest", params, token68: undefined }
}

const policy = { allowBasicAuth: false, allowMd5Auth: true }

describe("digest vectors (../shared/vectors/digest)", () => {
  it("holds all 18 vectors", () => {
    expect(vectors).toHaveLength(18)
  })

  for (const vector of vectors) {
    it(`${vector.id}: HA1, HA2 and response`, () => {
      const input: DigestComputation = {
        algorithm: algorithmOf(vector),
        username: vector.username,
        realm: vector.realm,
        password: Redacted.make(vector.password),
        nonce: vector.nonce,
        method: vector.method,
        uri: vector.uri,
        qop: vector.qop ?? undefined,
        nc: vector.nc ?? "",
        cnonce: vector.cnonce ?? "",
        entityBodyHash: bodyHashOf(vector)
      }
      expect(computeDigest(input)).toEqual({
        ha1: vector.expected.ha1,
        ha2: vector.expected.ha2,
        response: vector.expected.response
      })
      if (vector.expected.entity_body_hash !== undefined) {
        expect(bodyHashOf(vector)).toBe(vector.expected.entity_body_hash)
      }
    })

    // The full path needs the body itself; two vectors give only its hash.
    if (vector.qop !== "auth-int" || vector.entity_body !== undefined) {
      it(`${vector.id}: the Authorization header answering its challenge`, () => {
        const challenge = Result.getOrThrow(parseChallenge(challengeOf(vector), "WWW-Authenticate"))
        const answer = Result.getOrThrow(
          authorize(
            challenge,
            { username: vector.username, password: Redacted.make(vector.password) },
            {
              method: vector.method,
              uri: vector.uri,
              ...(vector.entity_body === undefined ? {} : { body: encoder.encode(vector.entity_body) })
            },
            { policy: { ...policy, preferAuthInt: vector.qop === "auth-int" }, cnonce: vector.cnonce ?? "unused" }
          )
        )
        expect(answer.name).toBe("Authorization")
        const sent = Result.getOrThrow(parseAuth(answer.value))
        expect(sent.scheme).toBe("Digest")
        expect(sent.params.get("response")).toBe(vector.expected.response)
        expect(sent.params.get("realm")).toBe(vector.realm)
        expect(sent.params.get("nonce")).toBe(vector.nonce)
        expect(sent.params.get("uri")).toBe(vector.uri)
        expect(sent.params.get("algorithm")).toBe(algorithmOf(vector))
        expect(sent.params.get("opaque")).toBe(vector.opaque ?? undefined)
        expect(sent.params.get("qop")).toBe(vector.qop ?? undefined)
        expect(sent.params.get("nc")).toBe(vector.qop === null ? undefined : vector.nc)
        expect(sent.params.get("cnonce")).toBe(vector.qop === null ? undefined : vector.cnonce)
        if (vector.userhash === true) {
          expect(sent.params.get("username")).toBe(vector.expected.userhash)
          expect(sent.params.get("userhash")).toBe("true")
        } else {
          expect(sent.params.get("username")).toBe(vector.username)
          expect(sent.params.has("userhash")).toBe(false)
        }
      })
    }
  }

  it("the userhash of RFC 7616 §3.9.2 is H(username \":\" realm) over UTF-8 with FIPS SHA-512/256", () => {
    const vector = vectors.find((v) => v.userhash === true)
    expect(vector).toBeDefined()
    if (vector === undefined) return
    expect(Buffer.from(vector.username, "utf8").toString("hex")).toBe("4ac3a473c3b86e20446f65")
    expect(hashHex(DigestAlgorithm.SHA_512_256, `${vector.username}:${vector.realm}`)).toBe(vector.expected.userhash)
  })

  it("nc is eight lower-case hex digits", () => {
    expect([1, 10, 255, 0xabcdef].map(formatNonceCount)).toEqual(["00000001", "0000000a", "000000ff", "00abcdef"])
  })
})
