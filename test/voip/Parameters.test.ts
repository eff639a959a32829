/**
 * `VoIPPhoneParameter`: pyVoIP's defaults, and the values its Schema
 * refuses (bad CIDR, bad ports, a low RTP port above the high one).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { CredentialsManager } from "../../src/Credentials.ts"
import { PayloadType } from "../../src/rtp/PayloadType.ts"
import { TransportMode } from "../../src/transport/TransportMode.ts"
import { stackOptions } from "../../src/voip/VoIPPhone.ts"
import * as VoIPPhoneParameter from "../../src/voip/VoIPPhoneParameter.ts"

const refused = (input: VoIPPhoneParameter.VoIPPhoneParameterInput) => Effect.flip(VoIPPhoneParameter.make(input))

describe("VoIPPhoneParameter", () => {
  it.effect("fills in pyVoIP's defaults", () =>
    Effect.gen(function*() {
      const parameters = yield* VoIPPhoneParameter.make({ server: "pbx.example", user: "alice" })
      expect(parameters).toEqual({
        server: "pbx.example",
        user: "alice",
        bindIp: "0.0.0.0",
        bindPort: 5060,
        bindNetwork: "0.0.0.0/0",
        transportMode: TransportMode.UDP,
        rtpPortLow: 10000,
        rtpPortHigh: 20000,
        registerExpires: 300,
        register: true
      })
      expect(VoIPPhoneParameter.offerCodecs(parameters)).toEqual([PayloadType.PCMU, PayloadType.EVENT])
      expect(VoIPPhoneParameter.answerCodecs(parameters)).toEqual([PayloadType.PCMU, PayloadType.PCMA, PayloadType.EVENT])
    }))

  it.effect("keeps every pyVoIP parameter and the extras, and hands them to the SIP client", () =>
    Effect.gen(function*() {
      const credentials = new CredentialsManager()
      const parameters = yield* VoIPPhoneParameter.make({
        server: "pbx.example",
        port: 5061,
        user: "alice",
        credentialsManager: credentials,
        bindIp: "10.0.0.4",
        bindPort: 0,
        bindNetwork: "10.0.0.0/24",
        hostname: "me.lan",
        remoteHostname: "me.example",
        transportMode: TransportMode.TLS,
        certFile: "/etc/cert.pem",
        keyFile: "/etc/key.pem",
        keyPassword: "secret",
        rtpPortLow: 30000,
        rtpPortHigh: 30099,
        outboundProxy: "proxy.example:5070",
        registerExpires: 600,
        codecs: [PayloadType.PCMA, PayloadType.EVENT]
      })
      expect(stackOptions(parameters)).toEqual({
        server: "pbx.example",
        port: 5061,
        user: "alice",
        credentials,
        outboundProxy: { host: "proxy.example", port: 5070 },
        expires: 600,
        register: true,
        transport: TransportMode.TLS,
        bind: { host: "10.0.0.4", port: 0 },
        tls: { certFile: "/etc/cert.pem", keyFile: "/etc/key.pem", keyPassword: "secret" },
        nat: { network: "10.0.0.0/24", hostname: "me.lan", remoteHostname: "me.example" }
      })
      expect(VoIPPhoneParameter.offerCodecs(parameters)).toEqual([PayloadType.PCMA, PayloadType.EVENT])
    }))

  it.effect("refuses a bad CIDR, bad ports and a bind address that is not an IP, listing every problem", () =>
    Effect.gen(function*() {
      const error = yield* refused({ server: "pbx", user: "alice", port: 70000, bindPort: -1, bindNetwork: "10.0.0.0/33", bindIp: "localhost" })
      expect(error._tag).toBe("InvalidParameterError")
      for (const field of ["port", "bindPort", "bindNetwork", "bindIp"]) expect(error.message).toContain(`["${field}"]`)
      expect(yield* refused({ server: "pbx", user: "alice", bindNetwork: "somewhere" })).toMatchObject({ _tag: "InvalidParameterError" })
      expect(yield* refused({ server: "pbx", user: "alice", outboundProxy: "proxy:99999" })).toMatchObject({ _tag: "InvalidParameterError" })
      expect(yield* refused({ server: "pbx", user: "alice", codecs: [PayloadType.G722] })).toMatchObject({ _tag: "InvalidParameterError" })
      expect(yield* refused({ server: "pbx", user: "" })).toMatchObject({ _tag: "InvalidParameterError" })
    }))

  it.effect("a low RTP port above the high one is an InvalidRangeError, as in pyVoIP", () =>
    Effect.gen(function*() {
      const error = yield* refused({ server: "pbx", user: "alice", rtpPortLow: 20000, rtpPortHigh: 10000 })
      expect(error).toMatchObject({ _tag: "InvalidRangeError", low: 20000, high: 10000 })
      expect(error.message).toBe("invalid RTP port range 20000-10000: low is above high")
      expect(yield* refused({ server: "pbx", user: "alice", rtpPortLow: 80, rtpPortHigh: 90 })).toMatchObject({ _tag: "InvalidRangeError" })
    }))

  it.effect("registration needs a server; peer-to-peer does not", () =>
    Effect.gen(function*() {
      expect((yield* refused({ user: "alice" })).message).toBe("invalid phone parameters: registration needs a server (or register: false)")
      const peerToPeer = yield* VoIPPhoneParameter.make({ user: "alice", register: false })
      expect(peerToPeer.server).toBeUndefined()
    }))
})
