/**
 * A throw-away PKI made with the `openssl` CLI for the TLS tests: a CA, a
 * server certificate for localhost / 127.0.0.1 / ::1, one for another name,
 * a client certificate, a self-signed "rogue" certificate, and a key
 * encrypted with a password.
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

export interface Pki {
  readonly dir: string
  readonly file: (name: string) => string
  readonly keyPassword: string
}

const run = (dir: string, args: ReadonlyArray<string>) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" })

const ecKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]

const signed = (dir: string, name: string, subject: string, san: string, keyArgs: ReadonlyArray<string> = ["-nodes"]) => {
  run(dir, ["req", "-new", ...ecKey, ...keyArgs, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subject])
  fs.writeFileSync(path.join(dir, `${name}.ext`), `subjectAltName=${san}\n`)
  run(dir, [
    "x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
    "-out", `${name}.crt`, "-days", "2", "-extfile", `${name}.ext`
  ])
}

/** Creates the PKI in a new temporary directory; `remove` deletes it. */
export const makePki = (): Pki & { readonly remove: () => void } => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-voip-pki-"))
  const keyPassword = "correct horse battery staple"
  run(dir, ["req", "-x509", ...ecKey, "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=effect-voip test CA"])
  signed(dir, "server", "/CN=localhost", "DNS:localhost,IP:127.0.0.1,IP:::1")
  signed(dir, "other-name", "/CN=sip.example.test", "DNS:sip.example.test")
  signed(dir, "client", "/CN=alice", "DNS:alice.example.test")
  signed(dir, "encrypted", "/CN=localhost", "DNS:localhost,IP:127.0.0.1", ["-passout", `pass:${keyPassword}`])
  run(dir, ["req", "-x509", ...ecKey, "-nodes", "-keyout", "rogue.key", "-out", "rogue.crt", "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
  return {
    dir,
    keyPassword,
    file: (name) => path.join(dir, name),
    remove: () => fs.rmSync(dir, { recursive: true, force: true })
  }
}
