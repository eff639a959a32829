/**
 * `npm run docs`: TypeDoc (with its own TypeScript 6, docs/tools/) turns the
 * TSDoc comments of the three entry points into HTML. The run goes to a
 * temporary folder; each page checked must carry the doc text written in
 * src/, read from the source here so the test follows the comments.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { repoRoot } from "../support/vectors.ts"

const typedoc = path.join(repoRoot, "docs/tools/node_modules/typedoc/bin/typedoc")

interface Run {
  readonly out: string
  readonly log: string
}

const generate = (): Run => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "effect-voip-docs-"))
  // TypeDoc forks its CLI with the Node that runs it: the one running vitest (24)
  const result = spawnSync(process.execPath, [typedoc, "--out", out], {
    cwd: repoRoot,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" }
  })
  expect(result.status, result.stderr).toBe(0)
  return { out, log: result.stdout + result.stderr }
}

/** A page's text as a reader sees it: tags dropped (inline ones without a space), entities decoded, spaces collapsed. */
const pageText = (run: Run, page: string): string =>
  fs.readFileSync(path.join(run.out, page), "utf8")
    .replace(/<\/?(code|a|strong|em)\b[^>]*>/g, "")
    .replace(/<[^>]*>/g, " ")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, "\"")
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, "&")
    .replace(/\s+/g, " ")

/**
 * The first line of the doc comment right above the line of `file` that
 * matches `declaration`, as TypeDoc renders it (code spans lose their backticks).
 */
const docLine = (file: string, declaration: RegExp): string => {
  const lines = fs.readFileSync(path.join(repoRoot, file), "utf8").split("\n")
  const at = lines.findIndex((line) => declaration.test(line))
  expect(at, `${declaration} in ${file}`).toBeGreaterThan(0)
  let start = at - 1
  while (start > 0 && !lines[start]!.trim().startsWith("/**")) start--
  const text = lines.slice(start, at)
    .map((line) => line.trim().replace(/^\/\*\*/, "").replace(/\*\/$/, "").replace(/^\*/, "").trim())
    .find((line) => line.length > 0 && !line.startsWith("@"))
  expect(text, `doc comment above ${declaration} in ${file}`).toBeDefined()
  return text!.replace(/`/g, "")
}

/** The first line of text of the module doc comment that opens `file`. */
const moduleDocLine = (file: string): string => {
  const opening = /^\/\*\*\n \* (.*)$/m.exec(fs.readFileSync(path.join(repoRoot, file), "utf8"))
  expect(opening, `module doc comment of ${file}`).not.toBeNull()
  return opening![1]!.replace(/`/g, "")
}

describe("npm run docs", () => {
  const run = generate()
  afterAll(() => fs.rmSync(run.out, { recursive: true, force: true }))

  it("documents every entry point without errors", () => {
    expect(run.log).toMatch(/html generated at/)
    expect(run.log).not.toMatch(/\[error\]/)
    // broken TSDoc: links that resolve to nothing, tags TypeDoc does not know
    expect(run.log).not.toMatch(/Failed to resolve link|unknown (block|inline|modifier) tag|no parameter named/i)
    for (const module of ["effect-voip.html", "effect-voip_promise.html", "effect-voip_testing.html"]) {
      expect(fs.existsSync(path.join(run.out, "modules", module)), module).toBe(true)
    }
  })

  it("documents VoIPPhone with its doc comment and its layers", () => {
    const text = pageText(run, "classes/effect-voip.VoIPPhone.html")
    expect(text).toContain(docLine("src/voip/VoIPPhone.ts", /^export class VoIPPhone /))
    expect(text).toContain(docLine("src/voip/VoIPPhone.ts", /static readonly layer = /))
    expect(text).toContain("layerWithClient")
  })

  it("documents VoIPCall.answer and the other call actions", () => {
    const text = pageText(run, "interfaces/effect-voip.VoIPCall.html")
    for (const member of ["answer", "hangup", "getDtmf", "transfer"]) {
      expect(text).toContain(member)
      expect(text).toContain(docLine("src/voip/VoIPCall.ts", new RegExp(`^  readonly ${member}: `)))
    }
  })

  it("documents PCMU.encode (its signature) in the PCMU module (its doc comment)", () => {
    expect(pageText(run, "variables/effect-voip.PCMU.encode.html")).toContain("encode : ( samples : Int16Array ) => Uint8Array")
    expect(pageText(run, "modules/effect-voip.PCMU.html")).toContain(moduleDocLine("src/rtp/PCMU.ts"))
  })

  it("documents the RTPMessage class and its parser", () => {
    expect(pageText(run, "classes/effect-voip.RTPMessage.RTPMessage.html"))
      .toContain(docLine("src/rtp/RTPMessage.ts", /^export class RTPMessage /))
    expect(fs.existsSync(path.join(run.out, "functions/effect-voip.RTPMessage.parse.html"))).toBe(true)
  })

  it("includes the concepts page and the pyVoIP migration guide", () => {
    expect(pageText(run, "documents/concepts.html")).toContain("effect-voip concepts")
    expect(pageText(run, "documents/pyvoip-migration.html")).toContain("From pyVoIP 2.0 to effect-voip")
  })

  it("documents the promise API's createPhone", () => {
    expect(pageText(run, "functions/effect-voip_promise.createPhone.html")).toContain("createPhone")
  })
})
