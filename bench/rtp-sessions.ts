/**
 * N concurrent duplex G.711 sessions in one Node process on 127.0.0.1:
 * N/2 pairs of sessions sending each other 50 packets per second, each one
 * started at its own moment within a 20 ms period as real calls would be.
 * The sessions are the library's own, on its default sockets. After a 3 s
 * warm-up it measures, over the run: the interval between consecutive RTP
 * sends of each socket (p50, p99, max; every `node:dgram` send noted with
 * `performance.now()`), packets lost (RFC 3550 sequence accounting at every
 * receiver), slots the senders skipped, the event loop's delay and
 * utilization (100 %: JavaScript never waited, so the thread is CPU-bound),
 * the process's CPU time (100 % = one core; user and system, every thread)
 * and that CPU time per packet sent (each packet is also received, so this
 * is the cost of both ends), and the resident memory the sessions added.
 *
 *   node --conditions=source bench/rtp-sessions.ts                  N = 100, 250, 500, 1000, 15 s each
 *   node --conditions=source bench/rtp-sessions.ts 1000 --seconds 30
 *   node --conditions=source bench/rtp-sessions.ts 1000 --threads 2 the sessions split over 2 threads (this
 *                                                                   one and a worker), each with its own ports
 *                                                                   and pacer
 *   npm run bench -- "RTP sessions"          the table of `sweep` below, through bench/run.ts
 *   npm run bench -- "RTP sessions 1000"     its rows whose name matches
 *
 * Each N runs in a fresh child process so that memory figures do not mix.
 * `bench/run.ts` imports this file; it runs the rows of `sweep` whose name
 * matches the pattern given to bench/run.ts, and nothing without a pattern.
 */
import { Effect, Layer } from "effect"
import { execFileSync } from "node:child_process"
import { monitorEventLoopDelay, performance } from "node:perf_hooks"
import { fileURLToPath } from "node:url"
import { parentPort, Worker, workerData } from "node:worker_threads"
import type { NegotiatedMedia } from "../src/sdp/OfferAnswer.ts"
import { PayloadType } from "../src/rtp/PayloadType.ts"
import * as RTPClient from "../src/rtp/RTPClient.ts"
import { flag, rows } from "./support/args.ts"
import { emptyHistogram, noteSends, percentile, SendTiming } from "./support/timing.ts"

/** What one thread measured. */
interface ThreadResult {
  readonly packetsSent: number
  readonly packetsLost: number
  readonly skippedSlots: number
  readonly intervals: Uint32Array
  readonly intervalMax: number
  readonly loopDelayP99: number
  readonly loopUtilization: number
  /** The whole process's CPU time (every thread, user and system) over this thread's measurement. */
  readonly processCpuMs: number
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
  readonly cpuPerPacketUs: number
  readonly rssGrowthMB: number
  readonly rssPerSessionKB: number
  readonly heapPerSessionKB: number
}

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
    noteSends(timing)
    yield* settle
    const heapBefore = process.memoryUsage().heapUsed
    const sessions: Array<RTPClient.RTPClient> = []
    for (let i = 0; i < count; i++) sessions.push(yield* RTPClient.make({ address: "127.0.0.1" }))
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
    const cpu = process.cpuUsage()
    yield* Effect.sleep(`${seconds} seconds`)
    const cpuUsed = process.cpuUsage(cpu)
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
      processCpuMs: (cpuUsed.user + cpuUsed.system) / 1000,
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
  const perThread = threads === 1 ? count : Math.floor(count / threads / 2) * 2
  const low = (thread: number) => portBase + thread * (2 * perThread + 200)
  // This thread carries one share and workers the others: a worker costs a Node runtime of its own (its
  // heap, its young generation, its compiled code), so an idle main thread would add one for nothing.
  const workers = Array.from({ length: threads - 1 }, (_, index) => {
    const worker = new Worker(fileURLToPath(import.meta.url), {
      workerData: { count: perThread, seconds, low: low(index + 1) }
    })
    const settled = (message: "loaded" | "result") =>
      new Promise<unknown>((resolve, reject) => {
        worker.on("message", (received: unknown) => (received === "loaded") === (message === "loaded") && resolve(received))
        worker.once("error", reject)
      })
    return { loaded: settled("loaded"), result: settled("result") as Promise<ThreadResult> }
  })
  // The shares start together, once every worker has loaded the modules, so their measurements overlap.
  await Promise.all(workers.map((worker) => worker.loaded))
  const results: ReadonlyArray<ThreadResult> = await Promise.all([
    Effect.runPromise(runSessions(perThread, seconds, low(0))),
    ...workers.map((worker) => worker.result)
  ])
  const intervals = emptyHistogram()
  for (const result of results) result.intervals.forEach((value, i) => (intervals[i]! += value))
  const sum = (pick: (result: ThreadResult) => number) => results.reduce((total, result) => total + pick(result), 0)
  // Each thread measured the whole process over nearly the same 15 s: the largest is the closest to all of it.
  const processCpuMs = Math.max(...results.map((result) => result.processCpuMs))
  const packetsSent = sum((result) => result.packetsSent)
  return {
    sessions: count,
    threads,
    seconds,
    packetsSent,
    packetsLost: sum((result) => result.packetsLost),
    skippedSlots: sum((result) => result.skippedSlots),
    intervalP50: percentile(intervals, 0.5),
    intervalP99: percentile(intervals, 0.99),
    intervalMax: Math.max(...results.map((result) => result.intervalMax)),
    loopDelayP99: Math.max(...results.map((result) => result.loopDelayP99)),
    loopUtilization: Math.max(...results.map((result) => result.loopUtilization)),
    cpuPercent: (processCpuMs / (seconds * 1000)) * 100,
    cpuPerPacketUs: (processCpuMs * 1000) / packetsSent,
    rssGrowthMB: (Math.max(...results.map((result) => result.rss)) - baseline.rss) / 1024 / 1024,
    rssPerSessionKB: (Math.max(...results.map((result) => result.rss)) - baseline.rss) / count / 1024,
    heapPerSessionKB: sum((result) => result.heapGrowth) / count / 1024
  } satisfies Result
}

const row = (r: Result, nodeFlags: ReadonlyArray<string>) =>
  `| ${r.sessions} | ${r.threads} | ${nodeFlags.length === 0 ? "" : `\`${nodeFlags.join(" ")}\``} | ${r.packetsSent} | ${r.packetsLost} | ${r.skippedSlots} | ${r.intervalP50.toFixed(2)} | ` +
  `${r.intervalP99.toFixed(2)} | ${r.intervalMax.toFixed(1)} | ${r.loopDelayP99.toFixed(1)} | ` +
  `${(100 * r.loopUtilization).toFixed(0)} % | ${r.cpuPercent.toFixed(0)} % | ${r.cpuPerPacketUs.toFixed(1)} | ` +
  `${r.rssGrowthMB.toFixed(0)} | ${r.rssPerSessionKB.toFixed(0)} | ${r.heapPerSessionKB.toFixed(0)} |`

/** One row: `count` sessions over `threads` threads, in a child process of its own with `nodeFlags`. */
const runChild = (count: number, seconds: number, threads: number, nodeFlags: ReadonlyArray<string>): Result => {
  const output = execFileSync(
    process.execPath,
    [
      ...process.execArgv,
      ...nodeFlags,
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
  return JSON.parse(output.trim().split("\n").at(-1)!) as Result
}

interface Run {
  readonly count: number
  readonly threads: number
  readonly nodeFlags: ReadonlyArray<string>
}

const table = (runs: ReadonlyArray<Run>, seconds: number) => {
  console.log(`RTP sessions: ${seconds} s per run after a 3 s warm-up; times in ms, memory per session in KB`)
  console.log(
    "| sessions | threads | Node flags | packets sent | lost | skipped slots | p50 interval | p99 interval | max interval | " +
      "p99 event-loop delay | event-loop utilization | CPU | CPU per packet (µs) | RSS growth (MB) | RSS per session | " +
      "heap per session |"
  )
  console.log("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
  for (const { count, nodeFlags, threads } of runs) console.log(row(runChild(count, seconds, threads, nodeFlags), nodeFlags))
}

// V8's young generation grows with the allocation rate of 50 000 datagrams/s each way; capped, it
// stays small at about the same CPU (bench/README.md)
const smallYoungGeneration = ["--max-semi-space-size=8"]

/** The rows `npm run bench -- "<pattern>"` picks from by name. */
const sweep = [
  ...[100, 250, 500, 1000].map((count) => ({ name: `RTP sessions ${count}`, count, threads: 1, nodeFlags: [] })),
  { name: "RTP sessions 1000 threads 2", count: 1000, threads: 2, nodeFlags: [] },
  { name: "RTP sessions 1000 semi-space 8", count: 1000, threads: 1, nodeFlags: smallYoungGeneration },
  { name: "RTP sessions 1000 threads 2 semi-space 8", count: 1000, threads: 2, nodeFlags: smallYoungGeneration }
]

const main = async () => {
  const args = process.argv.slice(2)
  const seconds = flag(args, "--seconds", 15)
  const threads = flag(args, "--threads", 1)
  if (args[0] === "--child") {
    console.log(JSON.stringify(await measure(Number(args[1]), seconds, threads)))
    return
  }
  const counts = rows(args)
  table((counts.length === 0 ? [100, 250, 500, 1000] : counts).map((count) => ({ count, threads, nodeFlags: [] })), seconds)
}

if (parentPort !== null) {
  const { count, low, seconds } = workerData as { readonly count: number; readonly seconds: number; readonly low: number }
  parentPort.postMessage("loaded")
  parentPort.postMessage(await Effect.runPromise(runSessions(count, seconds, low)))
} else if (import.meta.main) {
  await main()
} else if (process.argv[2] !== undefined) {
  // Imported by bench/run.ts with a pattern: the rows it names run here, before mitata's benchmarks.
  const pattern = new RegExp(process.argv[2])
  const runs = sweep.filter((run) => pattern.test(run.name))
  if (runs.length > 0) table(runs, 15)
}
