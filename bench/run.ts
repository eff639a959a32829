/**
 * Runs every benchmark in bench/: each `bench/*.ts` file registers its
 * benchmarks with mitata's `bench`/`group`/`summary` when imported, and this
 * script imports them all (in name order) and runs them once.
 *
 *   node bench/run.ts            every benchmark
 *   node bench/run.ts "SIP parse" only benchmarks whose name matches the regular expression
 */
import { run } from "mitata"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const here = path.dirname(fileURLToPath(import.meta.url))
const files = fs.readdirSync(here).filter((file) => file.endsWith(".ts") && file !== "run.ts").sort()
for (const file of files) await import(pathToFileURL(path.join(here, file)).href)

const pattern = process.argv[2]
await run(pattern === undefined ? {} : { filter: new RegExp(pattern) })
