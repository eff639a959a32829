/**
 * The code of docs/concepts.md and docs/pyvoip-migration.md. Each
 * `// #region name` … `// #endregion` is a snippet the docs show verbatim
 * (test/docs/concepts.test.ts compares them), so `npm run check` type-checks
 * every snippet and the docs tests run the bot.
 */
import { NodeDns, NodeFileSystem } from "@effect/platform-node"
import { Console, Effect, Layer, Option, Stream } from "effect"
import {
  Audio,
  CallState,
  CredentialsManager,
  formatEndReason,
  PayloadType,
  PCMU,
  PhoneStatus,
  TransportMode,
  type VoIPCall,
  VoIPPhone,
  VoIPPhoneParameter,
  VoIPSettings
} from "effect-voip"

// #region bot
/** Answers, plays `samples` (8 kHz, 16-bit) once, hangs up. */
export const announce = (samples: Int16Array) => (call: VoIPCall) =>
  Effect.gen(function*() {
    yield* call.answer
    // returns early when the caller hangs up first
    yield* call.play(Audio.fromSamples(samples))
    // then the call has already ended: nothing to hang up
    yield* call.hangup.pipe(Effect.catchTag("InvalidStateError", () => Effect.void))
  })
// #endregion bot

/** One second of 440 Hz, 8 kHz. */
export const beep = Audio.tone(440, 1000)

// #region phone
export const announcementBoard = Effect.gen(function*() {
  const credentials = new CredentialsManager()
  credentials.add("alice", "secret")
  const parameters = yield* VoIPPhoneParameter.make({
    server: "pbx.example.com",
    user: "alice",
    credentialsManager: credentials
  })
  // registers, answers every call with `announce`, runs until interrupted
  yield* Layer.launch(VoIPPhone.layer(parameters, { onIncomingCall: announce(beep) }))
}).pipe(
  // VOIP_* variables (VoIPSettings.layer) and the system's DNS
  Effect.provide(Layer.mergeAll(VoIPSettings.layer, NodeDns.layer))
)
// NodeRuntime.runMain(announcementBoard)
// #endregion phone

// #region layers
// What VoIPPhone.layer needs, and where it comes from:
//   VoIPSettings  the library's settings: VoIPSettings.layer (VOIP_* variables) or layerWith({...})
//   Dns           host names of servers and proxies: NodeDns.layer
// and what it may fail with: bad account settings, a port in use, NAT settings,
// the first registration refused, a bad RTP port range.
export const phoneLayer = (parameters: VoIPPhoneParameter.VoIPPhoneParameter) =>
  VoIPPhone.layer(parameters).pipe(
    Layer.provide(Layer.mergeAll(VoIPSettings.layerWith({ registerFailureThreshold: 5 }), NodeDns.layer))
  )
// #endregion layers

// #region dial
/** Calls `number`, says how it went, hangs up after 10 seconds of conversation. */
export const dial = (number: string) =>
  Effect.gen(function*() {
    const phone = yield* VoIPPhone
    const call = yield* phone.call(number, [PayloadType.PCMA, PayloadType.EVENT])
    // DIALING → (PROGRESS) → ANSWERED, or ENDED when it failed
    const state = yield* call.states.pipe(
      Stream.filter((s) => s === CallState.ANSWERED || s === CallState.ENDED),
      Stream.runHead
    )
    if (Option.contains(state, CallState.ANSWERED)) {
      yield* Effect.sleep("10 seconds")
      yield* call.hangup.pipe(Effect.ignore)
    }
    yield* Console.log(`ended: ${formatEndReason(yield* call.ended)}`)
  })
// #endregion dial

// #region status
export const printStatus = Effect.gen(function*() {
  const phone = yield* VoIPPhone
  // the current status, then each change: REGISTERING, REGISTERED, DEREGISTERING, INACTIVE, FAILED
  yield* phone.statusChanges.pipe(
    Stream.takeUntil((status) => status === PhoneStatus.INACTIVE || status === PhoneStatus.FAILED),
    Stream.runForEach((status) => Console.log(`status ${status}`))
  )
})
// #endregion status

// #region audio
/** Echoes what the caller says back to them, 20 ms at a time, until they hang up. */
export const echo = (call: VoIPCall) =>
  Effect.gen(function*() {
    yield* call.answer
    yield* call.play(call.audio)
  })

/** Plays a WAV file (any rate, mono or stereo) and records the caller to another one. */
export const playAndRecord = (call: VoIPCall) =>
  Effect.gen(function*() {
    yield* call.answer
    yield* Effect.forkChild(Audio.recordWav("caller.wav", call.audio))
    yield* call.play(Audio.fromWavFile("prompt.wav"))
  }).pipe(Effect.provide(NodeFileSystem.layer))

// The same frames as G.711 μ-law octets, e.g. for a speech service
export const ulaw = (call: VoIPCall) => call.audio.pipe(Stream.map(PCMU.encode))
// #endregion audio

// #region dtmf
/** A menu: the prompt stops at the first key (barge-in); 1 and 2 transfer, anything else hangs up. */
export const menu = (prompt: Int16Array) => (call: VoIPCall) =>
  Effect.gen(function*() {
    yield* call.answer
    yield* call.playUntilDtmf(Audio.fromSamples(prompt))
    // pyVoIP's get_dtmf: "" when no key was pressed
    const key = yield* call.getDtmf(1)
    if (key === "1") yield* call.transfer("sales")
    else if (key === "2") yield* call.transfer(undefined, "sip:support@example.com")
    else yield* call.hangup
  })

// Every digit as it arrives, and digits sent as RFC 4733 events
export const logDigits = (call: VoIPCall) => call.dtmf.pipe(Stream.runForEach((digit) => Console.log(`pressed ${digit}`)))
export const pressKeys = (call: VoIPCall) => call.sendDtmf("1234#")
// #endregion dtmf

// #region transfer
/** A warm transfer: call an agent, tell them who is coming, then connect the caller (RFC 5589 §7). */
export const warmTransfer = (caller: VoIPCall, agent: string) =>
  Effect.gen(function*() {
    const phone = yield* VoIPPhone
    const consultation = yield* phone.call(agent)
    const outcome = yield* consultation.states.pipe(
      Stream.filter((state) => state === CallState.ANSWERED || state === CallState.ENDED),
      Stream.runHead
    )
    if (Option.getOrUndefined(outcome) !== CallState.ANSWERED) return false
    yield* consultation.play(Audio.fromSamples(beep))
    // true: the caller's INVITE with Replaces reached the agent, and both our calls ended
    const connected = yield* caller.transferTo(consultation)
    if (!connected) yield* consultation.hangup
    return connected
  })
// #endregion transfer

// #region errors
export const tolerantMenu = (prompt: Int16Array) => (call: VoIPCall) =>
  menu(prompt)(call).pipe(
    // the caller hung up before we could: nothing to do
    Effect.catchTag("InvalidStateError", () => Effect.void),
    // the REFER failed or the RTP ports ran out: log it, the handler ends (the call is hung up)
    Effect.catchTags({
      CallError: (error) => Console.error(error.message),
      NoPortsAvailableError: (error) => Console.error(error.message)
    })
  )
// #endregion errors

// #region settings
// from the environment: VOIP_DEBUG=true VOIP_SIP_T1="250 millis" VOIP_TLS_VERIFY_MODE=none ...
export const fromEnvironment = VoIPSettings.layer
// in code, e.g. in tests: the defaults with some overrides
export const forTests = VoIPSettings.layerWith({ debug: true, transmitDelayReduction: 0.25, allowBasicAuth: false })
// #endregion settings

// #region nat
// A phone at 192.168.1.20 behind a router whose public name is voip.example.com:
// peers in 192.168.0.0/16 are given 192.168.1.20, the others voip.example.com
export const behindNat = VoIPPhoneParameter.make({
  server: "sip.provider.example",
  user: "alice",
  bindIp: "192.168.1.20",
  bindNetwork: "192.168.0.0/16",
  remoteHostname: "voip.example.com",
  transportMode: TransportMode.TCP
})
// #endregion nat
