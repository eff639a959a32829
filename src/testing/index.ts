/**
 * effect-voip/testing: deterministic tests of phone bots. An in-memory SIP
 * and RTP network (no sockets, every timer on `Clock`), a world Layer with
 * everything a phone needs, scripted remote parties built on the real
 * `VoIPPhone`, and analysis of what they heard: under `it.effect` a test
 * plays a 30-second IVR menu in virtual time, in milliseconds of real time.
 *
 * ```ts
 * import { Effect } from "effect"
 * import { Party, Recording, TestWorld } from "effect-voip/testing"
 *
 * it.effect("the menu answers key 1 with 300 Hz", () => Effect.gen(function*() {
 *   const bot = yield* TestWorld.phone({ user: "ivr" }, { onIncomingCall: menu })
 *   const alice = yield* Party.make("alice")
 *   const heard = yield* TestWorld.run(Effect.gen(function*() {
 *     const call = yield* alice.call(TestWorld.uriOf(bot))
 *     yield* call.answered
 *     yield* call.listen("31 seconds")          // the prompt
 *     yield* call.sendDtmf("1")
 *     return yield* call.listen("1 second")
 *   }))
 *   expect(Recording.tones(heard).map((tone) => Math.round(tone.frequency))).toEqual([300])
 * }).pipe(Effect.provide(TestWorld.layer())))
 * ```
 *
 * @since 0.1.0
 */

/**
 * The in-memory SIP network and its transport.
 *
 * @since 0.1.0
 */
export * as MemoryTransport from "./MemoryTransport.ts"
export { LinkPolicy, MemoryNetwork } from "./MemoryTransport.ts"

/**
 * The in-memory RTP network: sockets for RTP sessions, with loss, delay and reordering.
 *
 * @since 0.1.0
 */
export * as MemoryRtp from "./MemoryRtp.ts"
export { MemoryRtpNetwork } from "./MemoryRtp.ts"

/**
 * Received audio and its analysis: tones, silence, Goertzel.
 *
 * @since 0.1.0
 */
export * as Recording from "./Recording.ts"

/**
 * The world Layer, phones on it, and the script runner on `TestClock`.
 *
 * @since 0.1.0
 */
export * as TestWorld from "./TestWorld.ts"

/**
 * Scripted remote parties.
 *
 * @since 0.1.0
 */
export * as Party from "./Party.ts"

/**
 * A registrar and proxy: the PBX of a world (`TestWorld.layer({ pbx })`), or on any transport.
 *
 * @since 0.1.0
 */
export * as Registrar from "./Registrar.ts"
