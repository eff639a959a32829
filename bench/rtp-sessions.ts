/**
 * N concurrent duplex G.711 sessions in one Node process on 127.0.0.1:
 * N/2 pairs of sessions sending each other 50 packets per second, each one
 * started at its own moment within a 20 ms period as real calls would be.
 * After a 3 s warm-up it measures, over the run: the interval between
 * consecutive sends of each session (p50, p99, max), packets lost (RFC 3550
 * sequence accounting at every receiver), slots the senders skipped, the
 * event loop's delay and utilization (100 %: JavaScript never waited, so
 * the thread is CPU-bound), CPU time (100 % = one core) and the resident
 * memory the sessions added.
 *
 *   node bench/rtp-sessions.ts                        N = 100, 250, 500, 1000, 15 s each, one thread
 *   node bench/rtp-sessions.ts 1000 --seconds 30
 *   node bench/rtp-sessions.ts 500 1000 --threads 2   the sessions split over 2 worker threads,
 *                                                     each with its own ports and pacer
 *
 * Each N runs in a fresh child process so that memory figures do not mix.
 * `bench/run.ts` imports this file without running it.
 */
import { Effect, Layer } from "effect"
import type { DatagramSocket } from "effect/socket"
import { execFileSync } from "node:child_process"
import { monitorEventLoopDelay, performance } from "node:perf_hooks"
import { fileURLToPath } from "node:url"
import { parentPort, Worker, workerData } from "node:worker_threads"
import type { NegotiatedMedia } from "../src/sdp/OfferAnswer.ts"
import { PayloadType } from "../src/rtp/PayloadType.ts"
import * as RTPClient from "../src/rtp/RTPClient.ts"

/** What one thread measured. */
interface ThreadResult {
  readonly packetsSent: number
  readonly packetsLost: number
  readonly skippedSlots: number
  readonly intervals: Uint32Array
  readonly intervalMax: number
  readonly loopDelayP99: number
  readonly loopUtilization: number
  readonly threadCpuMs: number
  /** The process's resident memory while the sessions still run. */
  readonly rss: number
  /** What the sessions added to this thread's JavaScript heap. */
  readonly heapGrowth: number
}

interface Result {
  readonly sessions: number
  readonly threads: number
  readonly seconds: number
  readonly packetsSent: number
  readonly packetsLost: number
  readonly skippedSlots: number
  readonly intervalP50: number
  readonly intervalP99: number
  readonly intervalMax: number
  readonly loopDelayP99: number
  readonly loopUtilization: number
  readonly cpuPercent: number
  readonly rssGrowthMB: number
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
}

const percentile = (histogram: Uint32Array, p: number): number => {
  const total = histogram.reduce((sum, count) => sum + count, 0)
  let seen = 0
  for (let bucket = 0; bucket <= buckets; bucket++) {
    seen += histogram[bucket]!
    if (seen >= total * p) return bucket * bucketMs
  }
  return buckets * bucketMs
}

/** The sessions' own socket factory, with every RTP send's instant noted. */
const instrumented = (
  timing: SendTiming,
  open: (binding: RTPClient.SocketBinding) => Effect.Effect<DatagramSocket.DatagramSocket>
) =>
(binding: RTPClient.SocketBinding) =>
  Effect.map(
    open(binding),
    (socket): DatagramSocket.DatagramSocket => ({
      ...socket,
      writer: Effect.map(socket.writer, (writer) => ({
        ...writer,
        write: (datagram: DatagramSocket.OutgoingDatagram) =>
          Effect.suspend(() => {
            if (binding.port % 2 === 0) timing.record(binding.port, performance.now())
            return writer.write(datagram)
          })
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

/** `count` sessions on this thread, ports from `low`; measured for `seconds` after the warm-up. */
const runSessions = (count: number, seconds: number, low: number) =>
  Effect.gen(function*() {
    const timing = new SendTiming()
    const open = yield* RTPClient.RTPSocketFactory
    yield* settle
    const heapBefore = process.memoryUsage().heapUsed
    const sessions: Array<RTPClient.RTPClient> = []
    for (let i = 0; i < count; i++) {
      sessions.push(yield* RTPClient.make({ address: "127.0.0.1" }).pipe(
        Effect.provideService(RTPClient.RTPSocketFactory, instrumented(timing, open))
      ))
    }
    // Calls start at their own moments: spread the pairs' first packets over one 20 ms period.
    for (let pair = 0; pair + 1 < count; pair += 2) {
      yield* sessions[pair]!.update(mediaTo(sessions[pair + 1]!.localPort))
      yield* sessions[pair + 1]!.update(mediaTo(sessions[pair]!.localPort))
      if (pair % Math.max(2, Math.round(count / 20)) === 0) yield* Effect.sleep("1 millis")
    }
    yield* Effect.sleep("3 seconds")
    const before = yield* totals(sessions)
    timing.reset()
    const loopDelay = monitorEventLoopDelay({ resolution: 1 })
    loopDelay.enable()
    const utilization = performance.eventLoopUtilization()
    const cpu = process.threadCpuUsage()
    yield* Effect.sleep(`${seconds} seconds`)
    const cpuUsed = process.threadCpuUsage(cpu)
    loopDelay.disable()
    const after = yield* totals(sessions)
    yield* settle
    const memory = process.memoryUsage()
    return {
      packetsSent: after.sent - before.sent,
      packetsLost: after.lost - before.lost,
      skippedSlots: after.skipped - before.skipped,
      intervals: timing.histogram,
      intervalMax: timing.max,
      loopDelayP99: loopDelay.percentile(99) / 1e6,
      loopUtilization: performance.eventLoopUtilization(utilization).utilization,
      threadCpuMs: (cpuUsed.user + cpuUsed.system) / 1000,
      rss: memory.rss,
      heapGrowth: memory.heapUsed - heapBefore
    } satisfies ThreadResult
  }).pipe(Effect.scoped, Effect.provide(Layer.orDie(RTPClient.layer({ low, high: low + 2 * count + 199 }))))

const portBase = 22000

/** The sessions on `threads` threads (this one, or that many workers), with the process's memory. */
const measure = async (count: number, seconds: number, threads: number): Promise<Result> => {
  await Effect.runPromise(settle)
  // Workers start with their own heaps: the process's memory before any of them.
  const baseline = process.memoryUsage()
  const perThread = Math.floor(count / threads / 2) * 2
  const results: ReadonlyArray<ThreadResult> = threads === 1
    ? [await Effect.runPromise(runSessions(count, seconds, portBase))]
    : await Promise.all(Array.from({ length: threads }, (_, thread) =>
      new Promise<ThreadResult>((resolve, reject) => {
        const worker = new Worker(fileURLToPath(import.meta.url), {
          workerData: { count: perThread, seconds, low: portBase + thread * (2 * perThread + 200) }
        })
        worker.once("message", resolve)
        worker.once("error", reject)
      })))
  const intervals = new Uint32Array(buckets + 1)
  for (const result of results) result.intervals.forEach((value, i) => (intervals[i]! += value))
  const sum = (pick: (result: ThreadResult) => number) => results.reduce((total, result) => total + pick(result), 0)
  return {
    sessions: count,
    threads,
    seconds,
    packetsSent: sum((result) => result.packetsSent),
    packetsLost: sum((result) => result.packetsLost),
    skippedSlots: sum((result) => result.skippedSlots),
    intervalP50: percentile(intervals, 0.5),
    intervalP99: percentile(intervals, 0.99),
    intervalMax: Math.max(...results.map((result) => result.intervalMax)),
    loopDelayP99: Math.max(...results.map((result) => result.loopDelayP99)),
    loopUtilization: Math.max(...results.map((result) => result.loopUtilization)),
    cpuPercent: (sum((result) => result.threadCpuMs) / (seconds * 1000)) * 100,
    rssGrowthMB: (Math.max(...results.map((result) => result.rss)) - baseline.rss) / 1024 / 1024,
    rssPerSessionKB: (Math.max(...results.map((result) => result.rss)) - baseline.rss) / count / 1024,
    heapPerSessionKB: sum((result) => result.heapGrowth) / count / 1024
  } satisfies Result
}

const row = (r: Result) =>
  `| ${r.sessions} | ${r.threads} | ${r.packetsSent} | ${r.packetsLost} | ${r.skippedSlots} | ${r.intervalP50.toFixed(2)} | ` +
  `${r.intervalP99.toFixed(2)} | ${r.intervalMax.toFixed(1)} | ${r.loopDelayP99.toFixed(1)} | ` +
  `${(100 * r.loopUtilization).toFixed(0)} % | ${r.cpuPercent.toFixed(0)} % | ` +
  `${r.rssGrowthMB.toFixed(0)} | ${r.rssPerSessionKB.toFixed(0)} | ${r.heapPerSessionKB.toFixed(0)} |`

const flag = (args: ReadonlyArray<string>, name: string, fallback: number): number => {
  const at = args.indexOf(name)
  return at === -1 ? fallback : Number(args[at + 1])
}

const main = async () => {
  const args = process.argv.slice(2)
  const seconds = flag(args, "--seconds", 15)
  const threads = flag(args, "--threads", 1)
  if (args[0] === "--child") {
    console.log(JSON.stringify(await measure(Number(args[1]), seconds, threads)))
    return
  }
  const counts = args.filter((arg, i) => /^\d+$/.test(arg) && !args[i - 1]?.startsWith("--")).map(Number)
  console.log(`${seconds} s per run after a 3 s warm-up; times in ms, memory per session in KB`)
  console.log(
    "| sessions | threads | packets sent | lost | skipped slots | p50 interval | p99 interval | max interval | " +
      "p99 event-loop delay | event-loop utilization | CPU | RSS growth (MB) | RSS per session | heap per session |"
  )
  console.log("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
  for (const count of counts.length === 0 ? [100, 250, 500, 1000] : counts) {
    const output = execFileSync(
      process.execPath,
      [
        "--expose-gc",
        fileURLToPath(import.meta.url),
        "--child",
        String(count),
        "--seconds",
        String(seconds),
        "--threads",
        String(threads)
      ],
      { encoding: "utf8", timeout: (seconds + 60) * 1000 }
    )
    console.log(row(JSON.parse(output.trim().split("\n").at(-1)!) as Result))
  }
}

if (parentPort !== null) {
  const { count, low, seconds } = workerData as { readonly count: number; readonly seconds: number; readonly low: number }
  parentPort.postMessage(await Effect.runPromise(runSessions(count, seconds, low)))
} else if (import.meta.main) {
  await main()
}
