/**
 * docs/concepts.md and the pyVoIP guide against the code: each snippet is a
 * region of test/docs/snippets.ts (type-checked by `npm run check`), the
 * error table lists exactly the error classes effect-voip exports, the
 * settings table exactly the settings, and the bot of both pages answers a
 * caller on the in-memory network and plays its tone.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Main from "effect-voip"
import { Party, Recording, TestWorld } from "effect-voip/testing"
import * as fs from "node:fs"
import * as path from "node:path"
import { repoRoot } from "../support/vectors.ts"
import { announce, beep } from "./snippets.ts"

const read = (file: string) => fs.readFileSync(path.join(repoRoot, file), "utf8")

/** `// #region name` … `// #endregion name` of snippets.ts, by name. */
const regions = (): ReadonlyMap<string, string> =>
  new Map(
    Array.from(
      read("test/docs/snippets.ts").matchAll(/^\/\/ #region (\S+)\n([\s\S]*?)^\/\/ #endregion \1$/gm),
      (m) => [m[1]!, m[2]!.trimEnd()] as const
    )
  )

/** The ```ts block after each `<!-- snippet: name -->` of a page. */
const shown = (file: string): ReadonlyArray<readonly [string, string]> =>
  Array.from(read(file).matchAll(/<!-- snippet: (\S+) -->\n```ts\n([\s\S]*?)\n```/g), (m) => [m[1]!, m[2]!] as const)

/** The rows' first cells of the table under `## heading`. */
const firstColumn = (file: string, heading: string): ReadonlyArray<string> => {
  const section = read(file).split(/^## /m).find((part) => part.startsWith(`${heading}\n`)) ?? ""
  return section.split("\n").filter((line) => line.startsWith("| `")).map((line) => /^\| `([^`]+)`/.exec(line)![1]!)
}

/** Every error class effect-voip exports, at the top or in a namespace, by its path. */
const exportedErrors = (): ReadonlyArray<string> => {
  const found: Array<string> = []
  const visit = (value: object, prefix: string, depth: number) => {
    for (const [name, member] of Object.entries(value)) {
      if (typeof member === "function" && member.prototype instanceof Error) found.push(prefix + name)
      else if (depth === 0 && typeof member === "object" && member !== null && Object.prototype.toString.call(member) === "[object Module]") {
        visit(member, `${name}.`, 1)
      }
    }
  }
  visit(Main, "", 0)
  return found.sort()
}

describe("docs/concepts.md", () => {
  it("shows each snippet exactly as test/docs/snippets.ts has it", () => {
    const code = regions()
    const pages = [...shown("docs/concepts.md"), ...shown("docs/pyvoip-migration.md")]
    expect(pages.length).toBeGreaterThanOrEqual(10)
    for (const [name, text] of pages) {
      expect(code.has(name), `region ${name}`).toBe(true)
      expect(text, `snippet ${name}`).toBe(code.get(name))
    }
    // and every region is shown somewhere
    expect(new Set(pages.map(([name]) => name))).toEqual(new Set(code.keys()))
  })

  it("lists every error class effect-voip exports, and only those", () => {
    const listed = firstColumn("docs/concepts.md", "Errors")
    expect([...listed].sort()).toEqual(exportedErrors())
    for (const name of listed) {
      const error = name.split(".").reduce<unknown>((value, key) => (value as Record<string, unknown>)[key], Main) as { identifier?: string }
      // the tag a catchTag names is the class name
      expect(error.identifier, name).toBe(name.split(".").at(-1))
    }
  })

  it("lists every setting with its VOIP_ variable and default", () => {
    const config = read("src/Config.ts")
    const rows = read("docs/concepts.md").split("\n").filter((line) => line.startsWith("| `VOIP_"))
    const settings = rows.map((row) => {
      const [variable, setting] = Array.from(row.matchAll(/`([^`]+)`/g), (m) => m[1]!)
      // the Config key is the variable without VOIP_ (Config.nested("VOIP"))
      expect(config, variable).toContain(`"${variable!.slice("VOIP_".length)}"`)
      return setting!
    })
    expect(settings.sort()).toEqual(Object.keys(Main.defaultSettings).sort())
  })

  it.effect("the bot of both pages answers, plays its second of 440 Hz and hangs up", () =>
    Effect.gen(function*() {
      const bot = yield* TestWorld.phone({ user: "board" }, { onIncomingCall: announce(beep) })
      const alice = yield* Party.make("alice")
      const { ended, heard } = yield* TestWorld.run(Effect.gen(function*() {
        const call = yield* alice.call(TestWorld.uriOf(bot))
        yield* call.answered
        const ended = yield* call.ended
        return { ended, heard: yield* call.heard }
      }))
      const tones = Recording.tones(heard)
      expect(tones.map((tone) => Math.round(tone.frequency))).toEqual([440])
      // the BYE follows the last packet sent at once: the caller's last ~100 ms of playout are cut off
      expect(tones[0]!.durationMillis).toBeGreaterThanOrEqual(880)
      expect(tones[0]!.durationMillis).toBeLessThanOrEqual(1040)
      expect(ended).toEqual({ _tag: "RemoteHangup" })
    }).pipe(Effect.provide(TestWorld.layer())))
})
