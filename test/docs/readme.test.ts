/**
 * The README's code is real code: each ```ts block after a
 * `<!-- file: path -->` marker is that file (type-checked by `npm run
 * check`; the kit example is a test that runs), its leading doc comment
 * left out.
 */
import { describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import { repoRoot } from "../support/vectors.ts"

const read = (file: string) => fs.readFileSync(path.join(repoRoot, file), "utf8")

const withoutDocComment = (code: string) => code.replace(/^\/\*\*[\s\S]*?\*\/\n/, "").trimEnd()

describe("README.md", () => {
  it("shows each marked file exactly as it is", () => {
    const blocks = Array.from(read("README.md").matchAll(/<!-- file: (\S+) -->\n```ts\n([\s\S]*?)\n```/g), (m) => [m[1]!, m[2]!] as const)
    expect(blocks.map(([file]) => file)).toEqual(["examples/quick-start.ts", "test/docs/readme/kit.test.ts", "test/docs/readme/promise.ts"])
    for (const [file, shown] of blocks) expect(shown, file).toBe(withoutDocComment(read(file)))
  })
})
