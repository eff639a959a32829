/**
 * Calls per second: SIPp runs the lab's `uac-load.xml` (INVITE with an SDP
 * offer, ACK, BYE after `--hold` ms; SIPp sends no RTP) against one of our
 * phones on 127.0.0.1 whose handler answers every call and waits for its
 * end, so each call opens its RTP session (which sends until the BYE) and
 * gives its ports back. Per rate it runs `--calls` calls, at most `--limit`
 * at once, and reports what SIPp counted (successful and failed calls, its
 * retransmissions: each one is a response of ours that came late, the mean
 * INVITE → 200 time) and what our process spent: CPU per call (user and
 * system, one core = 100 %), the heap after a full GC once SIPp is done
 * against before it started (`--linger 35` measures it once the
 * transactions' Timer J/K, 32 s, have run out; without, some growth is
 * expected), and the open files, calls and RTP ports still held (0).
 *
 *   node --conditions=source bench/cps.ts                     rates 50, 100, 200, 400; 2000 calls each
 *   node --conditions=source bench/cps.ts 300 --calls 6000 --limit 500 --hold 0
 *   node --conditions=source bench/cps.ts 300 --calls 10000 --linger 35   a soak: nothing may be left
 *   npm run bench -- "calls per second"                       the same sweep through bench/run.ts
 *
 * Each rate runs in a child process of its own (with `--expose-gc`).
 */
import { Effect } from "effect"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import { fileURLToPath } from "node:url"
import { flag, rows } from "./support/args.ts"
import { answeringPhone, collectGarbage, runSipp, sippDuration } from "./support/load.ts"

interface Result {
  readonly rate: number
  readonly calls: number
  readonly successful: number
  readonly failed: number
  readonly retransmissions: number
  readonly reachedRate: number
  readonly inviteToOkMs: number
  readonly cpuPerCallMs: number
  readonly cpuPercent: number
  readonly heapGrowthMB: number
  readonly fdGrowth: number
  readonly callsLeft: number
  readonly portsLeft: number
}

interface Options {
  readonly calls: number
  readonly limit: number
  readonly holdMs: number
  /** Seconds to wait after SIPp before the memory is measured (35: the transactions' Timer J/K have run out). */
  readonly lingerSeconds: number
}

const openFiles = () => fs.readdirSync("/proc/self/fd").length

/** One rate, in this process: the phone, then SIPp against it. */
const measure = (rate: number, options: Options) =>
  Effect.gen(function*() {
    const phone = yield* answeringPhone
    collectGarbage()
    const heapBefore = process.memoryUsage().heapUsed
    const filesBefore = openFiles()
    const cpuBefore = process.cpuUsage()
    const started = performance.now()
    const stats = yield* runSipp({ rate, ...options })
    // the last BYEs' 200s and the sessions' closing are done within a moment
    yield* Effect.sleep("500 millis")
    const cpu = process.cpuUsage(cpuBefore)
    const elapsedMs = performance.now() - started
    yield* Effect.sleep(`${options.lingerSeconds} seconds`)
    collectGarbage()
    const successful = Number(stats["SuccessfulCall(C)"])
    const cpuMs = (cpu.user + cpu.system) / 1000
    return {
      rate,
      calls: options.calls,
      successful,
      failed: Number(stats["FailedCall(C)"]),
      retransmissions: Number(stats["Retransmissions(C)"]),
      reachedRate: Number(stats["CallRate(C)"]),
      inviteToOkMs: sippDuration(stats["ResponseTime1(C)"]),
      cpuPerCallMs: cpuMs / Math.max(1, successful),
      cpuPercent: (100 * cpuMs) / elapsedMs,
      heapGrowthMB: (process.memoryUsage().heapUsed - heapBefore) / 1024 / 1024,
      fdGrowth: openFiles() - filesBefore,
      callsLeft: (yield* phone.calls).length,
      portsLeft: yield* phone.rtpPortsInUse
    } satisfies Result
  }).pipe(Effect.scoped)

const runChild = (rate: number, options: Options): Result => {
  const output = execFileSync(
    process.execPath,
    [
      ...process.execArgv,
      "--expose-gc",
      fileURLToPath(import.meta.url),
      "--child",
      String(rate),
      "--calls",
      String(options.calls),
      "--limit",
      String(options.limit),
      "--hold",
      String(options.holdMs),
      "--linger",
      String(options.lingerSeconds)
    ],
    { encoding: "utf8", timeout: 360_000 }
  )
  return JSON.parse(output.trim().split("\n").at(-1)!) as Result
}

const table = (rates: ReadonlyArray<number>, options: Options) => {
  console.log(
    `SIP calls per second: ${options.calls} calls per rate, at most ${options.limit} at once, BYE ${options.holdMs} ms after the ACK, ` +
      `memory measured ${options.lingerSeconds} s after the last call`
  )
  console.log(
    "| rate (calls/s) | reached | successful | failed | retransmissions | mean INVITE → 200 (ms) | CPU per call (ms) | CPU | " +
      "heap growth (MB) | open files, calls, ports left |"
  )
  console.log("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
  for (const rate of rates) {
    const r = runChild(rate, options)
    console.log(
      `| ${r.rate} | ${r.reachedRate.toFixed(0)} | ${r.successful} | ${r.failed} | ${r.retransmissions} | ${r.inviteToOkMs < 1 ? "< 1" : r.inviteToOkMs.toFixed(0)} | ` +
        `${r.cpuPerCallMs.toFixed(2)} | ${r.cpuPercent.toFixed(0)} % | ${r.heapGrowthMB.toFixed(1)} | ${r.fdGrowth}, ${r.callsLeft}, ${r.portsLeft} |`
    )
  }
}

const sweep = [50, 100, 200, 400]

const optionsOf = (args: ReadonlyArray<string>): Options => ({
  calls: flag(args, "--calls", 2000),
  limit: flag(args, "--limit", 400),
  holdMs: flag(args, "--hold", 0),
  lingerSeconds: flag(args, "--linger", 0)
})

if (import.meta.main) {
  const args = process.argv.slice(2)
  if (args[0] === "--child") {
    console.log(JSON.stringify(await Effect.runPromise(measure(Number(args[1]), optionsOf(args)))))
  } else {
    const chosen = rows(args)
    table(chosen.length === 0 ? sweep : chosen, optionsOf(args))
  }
} else if (process.argv[2] !== undefined && new RegExp(process.argv[2]).test("SIP calls per second")) {
  // imported by bench/run.ts with a pattern that names this sweep
  table(sweep, optionsOf([]))
}
