/**
 * N concurrent duplex G.711 sessions in one Node process on 127.0.0.1:
 * N/2 pairs of sessions sending each other 50 packets per second, each one
 * started at its own moment within a 20 ms period as real calls would be.
 * After a 3 s warm-up it measures, over the run: the interval between
 * consecutive sends of each session (p50, p99, max), packets lost (RFC 3550
 * sequence accounting at every receiver), slots the senders skipped, CPU
 * time of the process (100 % = one core) and the resident memory the
 * sessions added, per session.
 *
 *   node bench/rtp-sessions.ts                  N = 100, 250, 500, 1000 for 15 s each
 *   node bench/rtp-sessions.ts 1000 --seconds 30
 *
 * Each N runs in a fresh child process so that memory figures do not mix.
 * `bench/run.ts` imports this file without running it.
 */
import { NodeDatagramSocket } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import type { DatagramSocket } from "effect/socket"
import { execFileSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import type { NegotiatedMedia } from "../src/sdp/OfferAnswer.ts"
import { PayloadType } from "../src/rtp/PayloadType.ts"
import * as RTPClient from "../src/rtp/RTPClient.ts"

interface Result {
  readonly sessions: number
  readonly seconds: number
  readonly packetsSent: number
  readonly packetsLost: number
  readonly skippedSlots: number
  readonly intervalP50: number
  readonly intervalP99: number
  readonly intervalMax: number
  readonly cpuPercent: number
  readonly rssPerSessionKB: number
  readonly heapPerSessionKB: number
}

const bucketMs = 0.05
const buckets = 20_000

/** Send instants of every RTP socket, folded into a histogram of intervals. */
class SendTiming {
  readonly histogram = new Uint32Array(buckets + 1)
  readonly last = new Map<number, number>()
  max = 0
  record(port: number, now: number) {
    const previous = this.last.get(port)
    this.last.set(port, now)
    if (previous === undefined) return
    const interval = now - previous
    this.max = Math.max(this.max, interval)
    this.histogram[Math.min(buckets, Math.round(interval / bucketMs))]!++
  }
  reset() {
    this.histogram.fill(0)
    this.max = 0
  }
  percentile(p: number): number {
    const total = this.histogram.reduce((sum, count) => sum + count, 0)
    let seen = 0
    for (let bucket = 0; bucket <= buckets; bucket++) {
      seen += this.histogram[bucket]!
      if (seen >= total * p) return bucket * bucketMs
    }
    return buckets * bucketMs
  }
}

const instrumented = (timing: SendTiming) => (binding: RTPClient.SocketBinding) =>
  Effect.map(
    NodeDatagramSocket.make({ bind: binding, receiveBuffer: { capacity: 256, strategy: "sliding" } }),
    (socket): DatagramSocket.DatagramSocket => ({
      ...socket,
      writer: Effect.map(socket.writer, (writer) => ({
        ...writer,
        write: (datagram: DatagramSocket.OutgoingDatagram) => {
          if (binding.port % 2 === 0) timing.record(binding.port, performance.now())
          return writer.write(datagram)
        }
      }))
    })
  )

const mediaTo = (port: number): NegotiatedMedia => ({
  mediaIndex: 0,
  kind: "audio",
  localPort: 0,
  remoteAddressType: "IP4",
  remoteAddress: "127.0.0.1",
  remotePort: port,
  remoteRtcpPort: port + 1,
  codec: { number: 0, type: PayloadType.PCMU },
  dtmf: 101,
  receive: [{ number: 0, type: PayloadType.PCMU }, { number: 101, type: PayloadType.EVENT }],
  direction: "sendrecv",
  ptime: 20
})

const settle = Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 200))).pipe(
  Effect.andThen(Effect.sync(() => globalThis.gc?.()))
)

const measure = (count: number, seconds: number) =>
  Effect.gen(function*() {
    const timing = new SendTiming()
    yield* settle
    const baseline = process.memoryUsage()
    const sessions: Array<RTPClient.RTPClient> = []
    for (let i = 0; i < count; i++) {
      sessions.push(yield* RTPClient.make({ address: "127.0.0.1" }).pipe(
        Effect.provideService(RTPClient.RTPSocketFactory, instrumented(timing))
      ))
    }
    // Calls start at their own moments: spread the pairs' first packets over one 20 ms period.
    for (let pair = 0; pair + 1 < count; pair += 2) {
      yield* sessions[pair]!.update(mediaTo(sessions[pair + 1]!.localPort))
      yield* sessions[pair + 1]!.update(mediaTo(sessions[pair]!.localPort))
      if (pair % Math.max(2, Math.round(count / 20)) === 0) yield* Effect.sleep("1 millis")
    }
    yield* Effect.sleep("3 seconds")
    const lostBefore = yield* totals(sessions)
    timing.reset()
    const cpu = process.cpuUsage()
    const started = performance.now()
    yield* Effect.sleep(`${seconds} seconds`)
    const cpuUsed = process.cpuUsage(cpu)
    const wall = performance.now() - started
    const after = yield* totals(sessions)
    yield* settle
    const memory = process.memoryUsage()
    return {
      sessions: count,
      seconds,
      packetsSent: after.sent - lostBefore.sent,
      packetsLost: after.lost - lostBefore.lost,
      skippedSlots: after.skipped - lostBefore.skipped,
      intervalP50: timing.percentile(0.5),
      intervalP99: timing.percentile(0.99),
      intervalMax: timing.max,
      cpuPercent: ((cpuUsed.user + cpuUsed.system) / 1000 / wall) * 100,
      rssPerSessionKB: (memory.rss - baseline.rss) / count / 1024,
      heapPerSessionKB: (memory.heapUsed - baseline.heapUsed) / count / 1024
    } satisfies Result
  }).pipe(Effect.scoped)

const totals = (sessions: ReadonlyArray<RTPClient.RTPClient>) =>
  Effect.gen(function*() {
    const sum = { sent: 0, lost: 0, skipped: 0 }
    for (const session of sessions) {
      const stats = yield* session.stats
      sum.sent += stats.packetsSent
      sum.lost += stats.packetsLost
      sum.skipped += stats.skippedSlots
    }
    return sum
  })

const sessionsLayer = Layer.orDie(RTPClient.layer({ low: 22000, high: 25999 }))

const row = (r: Result) =>
  `| ${r.sessions} | ${r.packetsSent} | ${r.packetsLost} | ${r.skippedSlots} | ${r.intervalP50.toFixed(2)} | ` +
  `${r.intervalP99.toFixed(2)} | ${r.intervalMax.toFixed(1)} | ${r.cpuPercent.toFixed(0)} % | ` +
  `${r.rssPerSessionKB.toFixed(0)} | ${r.heapPerSessionKB.toFixed(0)} |`

const main = () => {
  const args = process.argv.slice(2)
  const secondsFlag = args.indexOf("--seconds")
  const seconds = secondsFlag === -1 ? 15 : Number(args[secondsFlag + 1])
  if (args[0] === "--child") {
    const result = Effect.runPromise(measure(Number(args[1]), seconds).pipe(Effect.provide(sessionsLayer)))
    return result.then((r) => console.log(JSON.stringify(r)))
  }
  const counts = args.filter((arg, i) => /^\d+$/.test(arg) && args[i - 1] !== "--seconds").map(Number)
  console.log(`${seconds} s per run, after a 3 s warm-up; intervals in ms, memory in KB per session`)
  console.log("| sessions | packets sent | lost | skipped slots | p50 interval | p99 interval | max interval | CPU | RSS | heap |")
  console.log("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
  for (const count of counts.length === 0 ? [100, 250, 500, 1000] : counts) {
    const output = execFileSync(
      process.execPath,
      ["--expose-gc", fileURLToPath(import.meta.url), "--child", String(count), "--seconds", String(seconds)],
      { encoding: "utf8", timeout: (seconds + 60) * 1000 }
    )
    console.log(row(JSON.parse(output.trim().split("\n").at(-1)!) as Result))
  }
  return Promise.resolve()
}

if (import.meta.main) await main()
