import { Effect, Layer, Result, Stream } from "effect"
import { VoIPSettings } from "../../../src/Config.ts"
import * as Dialog from "../../../src/sip/dialog/Dialog.ts"
import * as UaCore from "../../../src/sip/dialog/UaCore.ts"
import * as SIPMessage from "../../../src/sip/SIPMessage.ts"
import * as TransactionLayer from "../../../src/sip/transaction/TransactionLayer.ts"
import * as MemoryTransport from "../../../src/testing/MemoryTransport.ts"
import { SipTransport } from "../../../src/transport/SipTransport.ts"

const CALLS = Number(process.argv[2] ?? 5000)
const node = (address: string) => Effect.gen(function*() {
  const transport = yield* MemoryTransport.make({ address, port: 5060 })
  return yield* TransactionLayer.make.pipe(Effect.provideService(SipTransport, transport))
})
let seq = 0
const invite = () => {
  const n = ++seq
  return Result.getOrThrow(SIPMessage.request({ method: "INVITE", uri: "sip:bob@10.0.0.2:5060", headers: [
    ["Max-Forwards", "70"], ["From", `<sip:alice@10.0.0.1>;tag=a${n}`], ["To", "<sip:bob@10.0.0.2>"],
    ["Call-ID", `c${n}@x`], ["CSeq", "1 INVITE"], ["Contact", "<sip:alice@10.0.0.1:5060>"]] }))
}
const program = Effect.gen(function*() {
  const alice = yield* node("10.0.0.1")
  const bob = yield* node("10.0.0.2")
  yield* bob.incoming.pipe(Stream.runForEach((event) => {
    if (event._tag !== "Request") return Effect.void
    const t = event.transaction
    if (t.method === "INVITE") {
      const ok = Result.getOrThrow(SIPMessage.response(t.request, 200, { toTag: Dialog.newTag(), headers: [["Contact", "<sip:bob@10.0.0.2:5060>"]] }))
      return Effect.forkChild(Effect.ignore(UaCore.acceptInvite(t, ok)))
    }
    return Effect.ignore(t.respond(Result.getOrThrow(SIPMessage.response(t.request, 200))))
  }), Effect.forkScoped)
  const call = Effect.gen(function*() {
    const tx = yield* alice.request(invite(), { host: "10.0.0.2", port: 5060 })
    const ok = yield* tx.final
    const dialog = Result.getOrThrow(Dialog.fromResponse(tx.request, ok))
    yield* UaCore.acknowledge(alice, tx, dialog)
    const { request } = Result.getOrThrow(Dialog.createRequest(dialog, "BYE"))
    const bye = yield* alice.request(request, Dialog.nextHop(dialog)!)
    yield* bye.final
  })
  for (const round of [1, 2, 3]) {
    global.gc?.()
    const before = process.memoryUsage().heapUsed
    const start = performance.now()
    yield* Effect.forEach(Array.from({ length: CALLS }), () => call, { concurrency: 200, discard: true })
    const ms = performance.now() - start
    global.gc?.()
    console.log(`round ${round}: ${CALLS} calls in ${ms.toFixed(0)} ms = ${(CALLS / ms * 1000).toFixed(0)} calls/s; heap ${(before/1e6).toFixed(1)} -> ${(process.memoryUsage().heapUsed/1e6).toFixed(1)} MB; live ${JSON.stringify(yield* alice.stats)} ${JSON.stringify(yield* bob.stats)}`)
  }
})
await Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(Layer.mergeAll(MemoryTransport.MemoryNetwork.layer, VoIPSettings.layerWith()))))
