/**
 * The digest algorithms SIP may use (RFC 3261 §22.4 with RFC 8760's additions) and their hash
 * functions as lower-case hex, the form every digest formula feeds back into itself.
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"

/**
 * The `algorithm` tokens of RFC 7616 §3.3 / RFC 8760, spelled as the RFCs register them.
 *
 * @category models
 * @since 0.1.0
 */
export const DigestAlgorithm = {
  MD5: "MD5",
  MD5_SESS: "MD5-sess",
  SHA_256: "SHA-256",
  SHA_256_SESS: "SHA-256-sess",
  SHA_512_256: "SHA-512-256",
  SHA_512_256_SESS: "SHA-512-256-sess"
} as const

/**
 * @category models
 * @since 0.1.0
 */
export type DigestAlgorithm = typeof DigestAlgorithm[keyof typeof DigestAlgorithm]

interface AlgorithmInfo {
  readonly nodeHash: string
  readonly session: boolean
  /** Higher is stronger; the `-sess` form ranks with its hash. */
  readonly strength: number
}

// "sha512-256" is FIPS 180-4 SHA-512/256 (its own initial values), not SHA-512 cut to 256 bits.
const algorithms: Record<DigestAlgorithm, AlgorithmInfo> = {
  "MD5": { nodeHash: "md5", session: false, strength: 1 },
  "MD5-sess": { nodeHash: "md5", session: true, strength: 1 },
  "SHA-256": { nodeHash: "sha256", session: false, strength: 2 },
  "SHA-256-sess": { nodeHash: "sha256", session: true, strength: 2 },
  "SHA-512-256": { nodeHash: "sha512-256", session: false, strength: 3 },
  "SHA-512-256-sess": { nodeHash: "sha512-256", session: true, strength: 3 }
}

const byLowerCaseToken: ReadonlyMap<string, DigestAlgorithm> = new Map(
  Object.values(DigestAlgorithm).map((token) => [token.toLowerCase(), token])
)

/**
 * The algorithm an `algorithm` parameter names (tokens compare case-insensitively), or
 * `undefined` for one this library does not implement.
 *
 * @category parsing
 * @since 0.1.0
 */
export const parseDigestAlgorithm = (token: string): DigestAlgorithm | undefined =>
  byLowerCaseToken.get(token.trim().toLowerCase())

/**
 * Whether HA1 is the session key `H(H(user:realm:password):nonce:cnonce)` (the `-sess` forms).
 *
 * @category predicates
 * @since 0.1.0
 */
export const isSessionAlgorithm = (algorithm: DigestAlgorithm): boolean => algorithms[algorithm].session

/**
 * Ranks algorithms for choosing among several challenges: SHA-512-256 > SHA-256 > MD5.
 *
 * @category ordering
 * @since 0.1.0
 */
export const algorithmStrength = (algorithm: DigestAlgorithm): number => algorithms[algorithm].strength

/**
 * Whether the algorithm is built on MD5 (refused when MD5 is disabled in the settings).
 *
 * @category predicates
 * @since 0.1.0
 */
export const isMd5Algorithm = (algorithm: DigestAlgorithm): boolean => algorithms[algorithm].nodeHash === "md5"

/**
 * The algorithm's hash of `data` (strings are hashed as UTF-8) as lower-case hex.
 *
 * @category hashing
 * @since 0.1.0
 */
export const hashHex = (algorithm: DigestAlgorithm, data: string | Uint8Array): string =>
  createHash(algorithms[algorithm].nodeHash).update(data).digest("hex")
