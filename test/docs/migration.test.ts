/**
 * docs/pyvoip-migration.md must not rot: every effect-voip name in its
 * tables (column 2) has to be exported. A path `A.B` is imported and walked
 * at run time; what only exists as a type (an interface, a service's shape,
 * `A#member`) is looked up with the TypeScript 6 checker that TypeDoc uses
 * (docs/tools). And the tables must still cover pyVoIP 2.0's API.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Main from "effect-voip"
import * as PromiseApi from "effect-voip/promise"
import * as Testing from "effect-voip/testing"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import type * as TS from "../../docs/tools/node_modules/typescript/lib/typescript.js"
import { repoRoot } from "../support/vectors.ts"

const ts: typeof TS = createRequire(path.join(repoRoot, "docs/tools/package.json"))("typescript")

interface Row {
  readonly section: string
  readonly pyvoip: string
  readonly names: ReadonlyArray<string>
  readonly cell: string
}

/** The rows of every table whose second column is "effect-voip". */
const readRows = (file: string): ReadonlyArray<Row> => {
  const rows: Array<Row> = []
  let section = ""
  let inTable = false
  for (const line of fs.readFileSync(path.join(repoRoot, file), "utf8").split("\n")) {
    if (line.startsWith("## ")) section = line.slice(3)
    if (!line.startsWith("|")) {
      inTable = false
      continue
    }
    const cells = line.slice(1, -1).split(/(?<!\\)\|/).map((cell) => cell.trim())
    if (cells[1] === "effect-voip") {
      inTable = true
      continue
    }
    if (!inTable || /^-+$/.test(cells[1] ?? "")) continue
    const cell = cells[1] ?? ""
    rows.push({ section, pyvoip: cells[0] ?? "", cell, names: Array.from(cell.matchAll(/`([^`]+)`/g), (m) => m[1]!) })
  }
  return rows
}

const entries = {
  "effect-voip": { runtime: Main, file: "src/index.ts" },
  promise: { runtime: PromiseApi, file: "src/promise/index.ts" },
  testing: { runtime: Testing, file: "src/testing/index.ts" }
} as const

interface Name {
  readonly entry: keyof typeof entries
  readonly path: ReadonlyArray<string>
  readonly member: string | undefined
}

const namePattern = /^(?:(promise|testing)\/)?([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)(?:#([A-Za-z_$][\w$]*))?$/

const parseName = (text: string): Name | undefined => {
  const match = namePattern.exec(text)
  if (match === null) return undefined
  return {
    entry: (match[1] as "promise" | "testing" | undefined) ?? "effect-voip",
    path: match[2]!.split("."),
    member: match[3]
  }
}

/** The public API as TypeScript sees it: the entry points' exports, types included. */
const makeChecker = () => {
  const config = ts.getParsedCommandLineOfConfigFile(path.join(repoRoot, "tsconfig.build.json"), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
      throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n"))
    }
  })!
  const roots = Object.values(entries).map((entry) => path.join(repoRoot, entry.file))
  const program = ts.createProgram(roots, { ...config.options, noEmit: true })
  const checker = program.getTypeChecker()

  const resolve = (symbol: TS.Symbol): TS.Symbol =>
    symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol

  const isModule = (symbol: TS.Symbol) =>
    (symbol.flags & (ts.SymbolFlags.ValueModule | ts.SymbolFlags.NamespaceModule)) !== 0 ||
    (symbol.declarations ?? []).some(ts.isSourceFile)

  const isType = (symbol: TS.Symbol) =>
    (symbol.flags & (ts.SymbolFlags.Class | ts.SymbolFlags.Interface | ts.SymbolFlags.TypeAlias)) !== 0

  const child = (symbol: TS.Symbol, name: string): TS.Symbol | undefined => {
    if (isModule(symbol)) return checker.getExportsOfModule(symbol).find((s) => s.name === name)
    return checker.getPropertyOfType(checker.getTypeOfSymbol(symbol), name)
  }

  /** The members a `#member` can name: the service of a service class, the instances of a class or interface, else the value. */
  const memberType = (symbol: TS.Symbol): TS.Type => {
    if (!isType(symbol)) return checker.getTypeOfSymbol(symbol)
    const declared = checker.getDeclaredTypeOfSymbol(symbol)
    const service = symbol.flags & ts.SymbolFlags.Class ? checker.getPropertyOfType(declared, "Service") : undefined
    return service === undefined ? declared : checker.getTypeOfSymbol(service)
  }

  return {
    /** `undefined` when found, else what is missing; `value` tells whether the base is a run-time value. */
    lookup: (name: Name): { readonly missing: string | undefined; readonly value: boolean } => {
      const file = program.getSourceFile(path.join(repoRoot, entries[name.entry].file))!
      let symbol: TS.Symbol | undefined = checker.getSymbolAtLocation(file)
      for (const segment of name.path) {
        symbol = symbol === undefined ? undefined : child(resolve(symbol), segment)
        if (symbol === undefined) return { missing: segment, value: false }
      }
      const base = resolve(symbol!)
      const value = (base.flags & ts.SymbolFlags.Value) !== 0 || isModule(base)
      if (name.member === undefined) return { missing: undefined, value }
      const found = checker.getPropertyOfType(checker.getApparentType(memberType(base)), name.member)
      return { missing: found === undefined ? `#${name.member}` : undefined, value }
    }
  }
}

const walk = (root: unknown, segments: ReadonlyArray<string>): unknown =>
  segments.reduce<unknown>((value, segment) => value === undefined || value === null ? undefined : (value as Record<string, unknown>)[segment], root)

/** pyVoIP 2.0's API (pyVoIP 1.6's names where 2.0 renamed them): each must have a row. */
const pyvoipApi = {
  "VoIPPhone methods": ["start()", "stop()", "fatal()", "get_status()", "call(", "message(", "callback(", "request_port(", "release_ports("],
  "VoIPCall methods": [
    "answer()", "deny()", "hangup()", "cancel()", "transfer(", "get_dtmf(", "dtmf_callback(", "read_audio(", "write_audio(",
    "ringing(", "answered(", "progress(", "busy(", "not_found(", "unavailable(", "bye(", "renegotiate(", "gen_ms()", "receiver()"
  ],
  "SIPClient": [
    "start()", "register()", "deregister()", "invite(", "bye(", "cancel(", "message(", "subscribe(", "send(", "sendto(", "recv()",
    "parse_message(", "gen_call_id()", "gen_tag()", "gen_branch()", "gen_first_request()", "gen_register()", "gen_invite()",
    "gen_ok()", "gen_busy()", "gen_ringing()", "gen_answer()", "gen_ack()", "gen_bye()", "gen_cancel()", "gen_digest()",
    "gen_authorization()", "gen_refer()", "gen_message()", "gen_subscribe()"
  ],
  "SIPMessage": ["from_bytes(", "summary()", "parse_header()", "parse_body()", "headers", "body", "authentication", "raw"],
  "RTP": [
    "RTPClient(", "read(", "write(", "parse_packet()", "encode_packet()", "encode_pcmu()", "parse_pcma()", "trans_delay_reduction",
    "RTPMessage(", "RTPPacketManager.read(", "rebuild(", "PayloadType.PCMU", "PayloadType.UNKNOWN", "TransmitType.SENDRECV",
    "RTPProtocol.UDP"
  ],
  "Enums": ["CallState.DIALING", "PhoneStatus.INACTIVE", "SIPStatus", "SIPMessageType.MESSAGE", "SIPMethod", "TransportMode.UDP", "AddressType.REMOTE"],
  "Errors": [
    "InvalidStateError", "InvalidRangeError", "NoPortsAvailableError", "InvalidAccountInfoError", "SIPParseError", "RTPParseError",
    "DynamicPayloadType", "NATError", "RetryRequiredError"
  ],
  "Globals and settings": [
    "DEBUG", "TRANSMIT_DELAY_REDUCTION", "ALLOW_BASIC_AUTH", "ALLOW_MD5_AUTH", "REGISTER_FAILURE_THRESHOLD", "ALLOW_TLS_FALLBACK",
    "TLS_CHECK_HOSTNAME", "TLS_VERIFY_MODE", "SIP_STATE_DB_LOCATION", "set_tls_security(", "debug(", "SIPCompatibleMethods",
    "RTPCompatibleCodecs"
  ],
  "Helpers": ["byte_to_bits(", "add_bytes(", "Counter", "KEY_PASSWORD", "CREDENTIALS_DICT", "get_host(", "check_host("]
} as const

describe("docs/pyvoip-migration.md", () => {
  const rows = readRows("docs/pyvoip-migration.md")
  const checker = makeChecker()

  it("writes column 2 as backticked effect-voip names or —", () => {
    expect(rows.length).toBeGreaterThan(100)
    for (const row of rows) {
      const bare = row.cell.replace(/`[^`]+`/g, "").replace(/[,\s]/g, "")
      expect(bare === "" || bare === "—", `${row.section}: ${row.pyvoip} → ${row.cell}`).toBe(true)
      if (bare === "—") expect(row.names).toEqual([])
      else expect(row.names.length, `${row.section}: ${row.pyvoip}`).toBeGreaterThan(0)
      for (const name of row.names) expect(parseName(name), name).toBeDefined()
    }
  })

  it("names only things effect-voip exports (values imported, types checked)", () => {
    const names = new Set(rows.flatMap((row) => row.names))
    const problems: Array<string> = []
    let atRuntime = 0
    for (const text of names) {
      const name = parseName(text)!
      const { missing, value } = checker.lookup(name)
      if (missing !== undefined) problems.push(`${text}: no ${missing}`)
      else if (value) {
        atRuntime++
        if (walk(entries[name.entry].runtime, name.path) === undefined) problems.push(`${text}: undefined at run time`)
      }
    }
    expect(problems).toEqual([])
    expect(atRuntime).toBeGreaterThan(100)
  })

  it("covers pyVoIP 2.0's classes, methods, enums, errors, globals and helpers", () => {
    const missing = Object.entries(pyvoipApi).flatMap(([section, items]) => {
      const cells = rows.filter((row) => row.section === section).map((row) => row.pyvoip).join(" ")
      return items.filter((item) => !cells.includes(item)).map((item) => `${section}: ${item}`)
    })
    expect(missing).toEqual([])
  })
})
