import { describe, expect, it } from "@effect/vitest"
import { createHash } from "node:crypto"
import {
  algorithmStrength,
  DigestAlgorithm,
  hashHex,
  isMd5Algorithm,
  isSessionAlgorithm,
  parseDigestAlgorithm
} from "../../../src/sip/auth/Hash.ts"

describe("digest hash functions", () => {
  it("SHA-512-256 is FIPS 180-4 SHA-512/256, not truncated SHA-512", () => {
    // FIPS 180-4 example (NIST "SHA512_256.pdf"): SHA-512/256("abc").
    const abc = "53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23"
    expect(hashHex(DigestAlgorithm.SHA_512_256, "abc")).toBe(abc)
    expect(hashHex(DigestAlgorithm.SHA_512_256_SESS, "abc")).toBe(abc)
    expect(createHash("sha512").update("abc").digest("hex").slice(0, 64)).not.toBe(abc)
  })

  it("MD5 and SHA-256 give their known digests, hashing strings as UTF-8", () => {
    expect(hashHex(DigestAlgorithm.MD5, "abc")).toBe("900150983cd24fb0d6963f7d28e17f72")
    expect(hashHex(DigestAlgorithm.SHA_256, "abc")).toBe(
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )
    expect(hashHex(DigestAlgorithm.MD5, "ä")).toBe(hashHex(DigestAlgorithm.MD5, new Uint8Array([0xc3, 0xa4])))
  })

  it("algorithm tokens are case-insensitive and unknown ones are rejected", () => {
    expect(parseDigestAlgorithm("md5-SESS")).toBe(DigestAlgorithm.MD5_SESS)
    expect(parseDigestAlgorithm(" sha-512-256 ")).toBe(DigestAlgorithm.SHA_512_256)
    expect(parseDigestAlgorithm("SHA-1")).toBeUndefined()
    // A spelling no RFC registers.
    expect(parseDigestAlgorithm("sha512-256")).toBeUndefined()
  })

  it("ranks SHA-512-256 over SHA-256 over MD5, with -sess like its hash", () => {
    const strengths = Object.values(DigestAlgorithm).map((algorithm) => [algorithm, algorithmStrength(algorithm)])
    expect(strengths).toEqual([
      ["MD5", 1],
      ["MD5-sess", 1],
      ["SHA-256", 2],
      ["SHA-256-sess", 2],
      ["SHA-512-256", 3],
      ["SHA-512-256-sess", 3]
    ])
    expect(Object.values(DigestAlgorithm).filter(isSessionAlgorithm)).toEqual([
      "MD5-sess",
      "SHA-256-sess",
      "SHA-512-256-sess"
    ])
    expect(Object.values(DigestAlgorithm).filter(isMd5Algorithm)).toEqual(["MD5", "MD5-sess"])
  })
})
