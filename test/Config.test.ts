import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect } from "effect"
import { defaults, setTlsSecurity, TlsVerifyMode, VoIPSettings } from "../src/Config.ts"

const read = (env: Record<string, string>) =>
  Effect.gen(function*() {
    return yield* VoIPSettings
  }).pipe(Effect.provide(VoIPSettings.layer), Effect.provide(ConfigProvider.layer(ConfigProvider.fromEnvRecord(env))))

describe("VoIPSettings", () => {
  it.effect("has pyVoIP 2.0's defaults and the RFC 3261 timers when nothing is set", () =>
    Effect.gen(function*() {
      const settings = yield* read({})
      expect(settings).toEqual(defaults)
      expect(settings).toMatchObject({
        debug: false,
        transmitDelayReduction: 0,
        allowBasicAuth: false,
        allowMd5Auth: true,
        registerFailureThreshold: 3,
        allowTlsFallback: false,
        tlsCheckHostname: true,
        tlsVerifyMode: "required",
        sipStateDbLocation: ":memory:"
      })
      expect([settings.t1, settings.t2, settings.t4].map(Duration.toMillis)).toEqual([500, 4000, 5000])
    }))

  it.effect("reads every setting from VOIP_<NAME> variables", () =>
    Effect.gen(function*() {
      const settings = yield* read({
        VOIP_DEBUG: "true",
        VOIP_TRANSMIT_DELAY_REDUCTION: "0.75",
        VOIP_ALLOW_BASIC_AUTH: "yes",
        VOIP_ALLOW_MD5_AUTH: "false",
        VOIP_REGISTER_FAILURE_THRESHOLD: "5",
        VOIP_ALLOW_TLS_FALLBACK: "1",
        VOIP_TLS_VERIFY_MODE: "optional",
        VOIP_SIP_STATE_DB_LOCATION: "/tmp/state.db",
        VOIP_SIP_T1: "250 millis",
        VOIP_SIP_T2: "2 seconds",
        VOIP_SIP_T4: "6 seconds",
        VOIP_MAX_HEADER_BYTES: "8192",
        VOIP_MAX_MESSAGE_BYTES: "32768",
        VOIP_CONNECTION_IDLE_TIMEOUT: "1 minute",
        VOIP_CONNECT_TIMEOUT: "3 seconds",
        VOIP_INCOMING_QUEUE_CAPACITY: "100"
      })
      expect(settings).toMatchObject({
        debug: true,
        transmitDelayReduction: 0.75,
        allowBasicAuth: true,
        allowMd5Auth: false,
        registerFailureThreshold: 5,
        allowTlsFallback: true,
        tlsVerifyMode: "optional",
        tlsCheckHostname: true,
        sipStateDbLocation: "/tmp/state.db",
        maxHeaderBytes: 8192,
        maxMessageBytes: 32768,
        incomingQueueCapacity: 100
      })
      expect([settings.t1, settings.t2, settings.t4, settings.connectionIdleTimeout, settings.connectTimeout].map(Duration.toMillis))
        .toEqual([250, 2000, 6000, 60000, 3000])
    }))

  it.effect("turns hostname checking off with verification, as set_tls_security does, unless told otherwise", () =>
    Effect.gen(function*() {
      expect(yield* read({ VOIP_TLS_VERIFY_MODE: "none" })).toMatchObject({ tlsVerifyMode: "none", tlsCheckHostname: false })
      expect(yield* read({ VOIP_TLS_CHECK_HOSTNAME: "false" })).toMatchObject({ tlsVerifyMode: "required", tlsCheckHostname: false })
      const contradiction = yield* Effect.flip(read({ VOIP_TLS_VERIFY_MODE: "none", VOIP_TLS_CHECK_HOSTNAME: "true" }))
      expect(contradiction.message).toContain("VOIP_TLS_CHECK_HOSTNAME=true needs VOIP_TLS_VERIFY_MODE")
    }))

  it.effect("refuses values that make no sense", () =>
    Effect.gen(function*() {
      for (
        const env of [
          { VOIP_TLS_VERIFY_MODE: "maybe" },
          { VOIP_REGISTER_FAILURE_THRESHOLD: "0" },
          { VOIP_ALLOW_BASIC_AUTH: "perhaps" },
          { VOIP_SIP_T1: "soon" },
          { VOIP_MAX_MESSAGE_BYTES: "-1" }
        ]
      ) {
        const error = yield* Effect.flip(read(env))
        expect(error._tag).toBe("ConfigError")
      }
    }))

  it("setTlsSecurity keeps verify mode and hostname checking consistent", () => {
    expect(setTlsSecurity(TlsVerifyMode.NONE)(defaults)).toMatchObject({ tlsVerifyMode: "none", tlsCheckHostname: false })
    const relaxed = { ...defaults, tlsCheckHostname: false }
    expect(setTlsSecurity(TlsVerifyMode.REQUIRED)(relaxed)).toMatchObject({ tlsVerifyMode: "required", tlsCheckHostname: true })
    expect(setTlsSecurity(TlsVerifyMode.OPTIONAL)(defaults)).toMatchObject({ tlsVerifyMode: "optional", tlsCheckHostname: true })
  })

  it.effect("layerWith replaces the environment in tests", () =>
    Effect.gen(function*() {
      const settings = yield* VoIPSettings
      expect(settings).toEqual({ ...defaults, allowTlsFallback: true })
    }).pipe(Effect.provide(VoIPSettings.layerWith({ allowTlsFallback: true }))))
})
