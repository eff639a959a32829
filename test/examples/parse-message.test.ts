import { describe, expect, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import * as path from "node:path"
import { repoRoot } from "../support/vectors.ts"

describe("examples/parse-message.ts", () => {
  it("prints the typed view of the INVITE, the negotiated media and a 200 OK", () => {
    const output = execFileSync(
      path.join(repoRoot, "node_modules/.bin/node"),
      ["--conditions=source", "examples/parse-message.ts"],
      { cwd: repoRoot, encoding: "utf8" }
    )
    expect(output).toContain("parsed    INVITE sip:bob@127.0.0.1:5060 SIP/2.0")
    expect(output).toContain("via       UDP 127.0.0.2:5060 branch=z9hG4bK.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
    expect(output).toContain("offer     audio 127.0.0.2:6000 PCMU/0 PCMA/8 telephone-event/101")
    expect(output).toContain("answer    send PCMU/0 to 127.0.0.2:6000, telephone-event 101, sendrecv")
    expect(output).toMatch(/SIP\/2\.0 200 OK\r\n[\s\S]*To: "Bob" <sip:bob@127\.0\.0\.1:5060>;tag=demo\r\n/)
    expect(output).toMatch(/m=audio 10000 RTP\/AVP 0 8 101/)
  })
})
