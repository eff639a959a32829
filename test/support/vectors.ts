/**
 * Paths to the shared test data (`../shared` beside the repository).
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")
export const sharedDir = path.resolve(repoRoot, "../shared")
export const vectorsDir = path.join(sharedDir, "vectors")
export const labDir = path.join(sharedDir, "lab")

export const vectorPath = (...parts: ReadonlyArray<string>): string => path.join(vectorsDir, ...parts)
export const readVector = (...parts: ReadonlyArray<string>): Uint8Array => fs.readFileSync(vectorPath(...parts))
export const readVectorJson = <A = unknown>(...parts: ReadonlyArray<string>): A =>
  JSON.parse(fs.readFileSync(vectorPath(...parts), "utf8")) as A
