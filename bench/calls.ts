/**
 * Concurrent calls with media: SIPp's `uac-load.xml` places N calls at 50
 * per second against one of our phones, which answers each (an RTP session
 * per call, sending 50 packets a second to SIPp's media port; SIPp sends
 * none) and holds them all up together. Once the N calls are up it
 * measures, over `--seconds`: the interval between consecutive RTP sends
 * of each call (p50, p99, max; every `node:dgram` send noted), the CPU of
 * our process (one core = 100 %), and the heap (after a full GC) and RSS
 * the calls added, per call, against before the first one. SIPp's count
 * of successful and failed calls closes the row.
 *
 *   node --conditions=source bench/calls.ts                   N = 100, 250, 500; 10 s each
 *   node --conditions=source bench/calls.ts 500 --seconds 20
 *   npm run bench -- "concurrent calls"                       the same sweep through bench/run.ts
 *
 * Each N runs in a child process of its own (with `--expose-gc`).
 */
import { Effect, Fiber } from "effect"
import { execFileSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import { flag, rows } from "./support/args.ts"
import { answeringPhone, collectGarbage, runSipp } from "./support/load.ts"
import { noteSends, percentile, SendTiming } from "./support/timing.ts"

interface Result {
  readonly calls: number
  readonly up: number
  readonly successful: number
  readonly failed: number
  readonly intervalP50: number
  readonly intervalP99: number
  readonly intervalMax: number
  readonly cpuPercent: number
  readonly heapPerCallKB: number
  readonly rssPerCallKB: number
}

const RATE = 50

const measure = (calls: number, seconds: number) =>
  Effect.gen(function*() {
    const timing = new SendTiming()
    noteSends(timing)
    const phone = yield* answeringPhone
    yield* Effect.sleep("200 millis")
    collectGarbage()
    const before = process.memoryUsage()
    // every call lasts through the ramp, a 2 s settling, the measurement and a margin
    const rampMs = (calls / RATE) * 1000
    const sipp = yield* Effect.forkChild(runSipp({ rate: RATE, calls, limit: calls, holdMs: rampMs + (seconds + 4) * 1000 }))
    yield* Effect.sleep(`${rampMs + 2000} millis`)
    const up = (yield* phone.calls).length
    timing.reset()
    const cpu = process.cpuUsage()
    yield* Effect.sleep(`${seconds} seconds`)
    const cpuUsed = process.cpuUsage(cpu)
    const histogram = timing.histogram.slice()
    const intervalMax = timing.max
    collectGarbage()
    const during = process.memoryUsage()
    const stats = yield* Fiber.join(sipp)
    return {
      calls,
      up,
      successful: Number(stats["SuccessfulCall(C)"]),
      failed: Number(stats["FailedCall(C)"]),
      intervalP50: percentile(histogram, 0.5),
      intervalP99: percentile(histogram, 0.99),
      intervalMax,
      cpuPercent: ((cpuUsed.user + cpuUsed.system) / 1000 / (seconds * 1000)) * 100,
      heapPerCallKB: (during.heapUsed - before.heapUsed) / calls / 1024,
      rssPerCallKB: (during.rss - before.rss) / calls / 1024
    } satisfies Result
  }).pipe(Effect.scoped)

const runChild = (calls: number, seconds: number): Result => {
  const output = execFileSync(
    process.execPath,
    [...process.execArgv, "--expose-gc", fileURLToPath(import.meta.url), "--child", String(calls), "--seconds", String(seconds)],
    { encoding: "utf8", timeout: (calls / RATE + seconds + 60) * 1000 }
  )
  return JSON.parse(output.trim().split("\n").at(-1)!) as Result
}

const table = (counts: ReadonlyArray<number>, seconds: number) => {
  console.log(`Concurrent calls with media: ${seconds} s with every call up; times in ms, memory per call in KB`)
  console.log("| calls | up | successful | failed | p50 interval | p99 interval | max interval | CPU | heap per call | RSS per call |")
  console.log("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
  for (const count of counts) {
    const r = runChild(count, seconds)
    console.log(
      `| ${r.calls} | ${r.up} | ${r.successful} | ${r.failed} | ${r.intervalP50.toFixed(2)} | ${r.intervalP99.toFixed(2)} | ` +
        `${r.intervalMax.toFixed(1)} | ${r.cpuPercent.toFixed(0)} % | ${r.heapPerCallKB.toFixed(0)} | ${r.rssPerCallKB.toFixed(0)} |`
    )
  }
}

const sweep = [100, 250, 500]

if (import.meta.main) {
  const args = process.argv.slice(2)
  const seconds = flag(args, "--seconds", 10)
  if (args[0] === "--child") {
    console.log(JSON.stringify(await Effect.runPromise(measure(Number(args[1]), seconds))))
  } else {
    const chosen = rows(args)
    table(chosen.length === 0 ? sweep : chosen, seconds)
  }
} else if (process.argv[2] !== undefined && new RegExp(process.argv[2]).test("concurrent calls")) {
  // imported by bench/run.ts with a pattern that names this sweep
  table(sweep, 10)
}
