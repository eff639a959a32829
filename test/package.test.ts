import { describe, expect, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import { readFileSync } from "node:fs"
import * as path from "node:path"
import { repoRoot } from "./support/vectors.ts"

const node = path.join(repoRoot, "node_modules/.bin/node")

describe("the built package", () => {
  it("is importable from dist/ by a plain Node 24 script", { timeout: 120_000 }, () => {
    execFileSync(path.join(repoRoot, "node_modules/.bin/tsc"), ["-p", "tsconfig.build.json"], { cwd: repoRoot })
    const script = [
      "import { SIPMessage, SIPStatus, PCMU, RTPMessage } from 'effect-voip'",
      "const message = SIPMessage.parseResult('OPTIONS sip:a@127.0.0.1 SIP/2.0\\r\\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKx\\r\\n' +",
      "  'From: <sip:b@127.0.0.1>;tag=1\\r\\nTo: <sip:a@127.0.0.1>\\r\\nCall-ID: c\\r\\nCSeq: 1 OPTIONS\\r\\nContent-Length: 0\\r\\n\\r\\n')",
      "const url = import.meta.resolve('effect-voip')",
      "console.log(JSON.stringify({ url, method: message.success.method, ok: SIPStatus.OK.value, silence: PCMU.decode(new Uint8Array([0xff]))[0], rtp: typeof RTPMessage.parseResult }))"
    ].join("\n")
    const output = execFileSync(node, ["--input-type=module", "-e", script], { cwd: repoRoot, encoding: "utf8" })
    const result = JSON.parse(output.trim())
    expect(result.url).toMatch(/\/dist\/index\.js$/)
    expect(result).toMatchObject({ method: "OPTIONS", ok: 200, silence: 0, rtp: "function" })

    const entries = [
      "const testing = await import('effect-voip/testing'), promise = await import('effect-voip/promise')",
      "console.log(JSON.stringify({ testing: import.meta.resolve('effect-voip/testing'), promise: import.meta.resolve('effect-voip/promise'),",
      "  party: typeof testing.Party.make, world: typeof testing.TestWorld.layer, createPhone: typeof promise.createPhone }))"
    ].join("\n")
    const resolved = JSON.parse(execFileSync(node, ["--input-type=module", "-e", entries], { cwd: repoRoot, encoding: "utf8" }).trim())
    expect(resolved.testing).toMatch(/\/dist\/testing\/index\.js$/)
    expect(resolved.promise).toMatch(/\/dist\/promise\/index\.js$/)
    expect(resolved).toMatchObject({ party: "function", world: "function", createPhone: "function" })

    // the `voip` bin of package.json runs from dist/
    const bin = JSON.parse(readFileSync(path.join(repoRoot, "package.json"), "utf8")).bin.voip
    expect(execFileSync(node, [path.join(repoRoot, bin), "--version"], { encoding: "utf8" })).toContain("0.1.0")
  })
})
