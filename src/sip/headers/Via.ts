/**
 * Via header values (RFC 3261 §20.42, §25; RFC 3581 `rport`; RFC 5118 §4.5
 * bracketed or bare IPv6 in `received`).
 *
 * @since 0.1.0
 */
import type { Result } from "effect"
import type { SIPParseError } from "../SIPParseError.ts"
import {
  canonicalColons,
  COLON,
  decimal,
  decimalParam,
  describeAt,
  emptyParams,
  expect,
  fail,
  formatHost,
  formatParams,
  host,
  isIPv4,
  isIPv6,
  LBRACKET,
  listContinues,
  nextParam,
  peek,
  run,
  runRange,
  type Scanner,
  skipRequiredWs,
  skipWs,
  SLASH,
  token,
  tokenParam,
  withinParamValue
} from "./Lexer.ts"

/**
 * One via-parm.
 *
 * @category models
 * @since 0.1.0
 */
export interface Via {
  /** protocol-name "/" protocol-version, e.g. "SIP/2.0" (the name upper-cased). */
  readonly protocol: string
  /** Upper-cased: "UDP", "TCP", "TLS", "SCTP", "WS", ... */
  readonly transport: string
  /** IPv6 without brackets. */
  readonly host: string
  readonly port: number | undefined
  readonly branch: string | undefined
  /** An IP address (IPv6 without brackets). */
  readonly received: string | undefined
  /** RFC 3581: null for a bare `;rport` (a request asking for it), a number once filled in. */
  readonly rport: number | null | undefined
  /** IPv6 without brackets. */
  readonly maddr: string | undefined
  readonly ttl: number | undefined
  /** The other parameters: names lower-cased, values as written (quoted values keep their quotes). */
  readonly params: ReadonlyMap<string, string | null>
}

const SIP_2_0 = "SIP/2.0"

/** protocol-name SLASH protocol-version SLASH, with the usual unspaced "SIP/2.0/" read at once. */
const sentProtocol = (sc: Scanner): string => {
  if (sc.pos + 8 <= sc.end && sc.s.startsWith("SIP/2.0/", sc.pos)) {
    sc.pos += 8
    return SIP_2_0
  }
  const name = token(sc, "a protocol name in Via")
  skipWs(sc)
  expect(sc, SLASH, `"/" in the Via sent-protocol`)
  skipWs(sc)
  const version = token(sc, "a protocol version in Via")
  skipWs(sc)
  expect(sc, SLASH, `"/" before the Via transport`)
  const protocol = `${name.toUpperCase()}/${version}`
  return protocol === SIP_2_0 ? SIP_2_0 : protocol
}

const commonTransports = ["UDP", "TCP", "TLS", "WS", "WSS", "SCTP"]

/** The transport token `s[start, end)` upper-cased; the usual ones are shared strings, not copies. */
export const transportOf = (s: string, start: number, end: number): string => {
  for (let k = 0; k < commonTransports.length; k++) {
    const name = commonTransports[k]!
    if (name.length !== end - start) continue
    let i = 0
    // A token is ASCII, and `& 0xdf` upper-cases a letter and maps nothing else onto one.
    while (i < name.length && (s.charCodeAt(start + i) & 0xdf) === name.charCodeAt(i)) i++
    if (i === name.length) return name
  }
  return s.slice(start, end).toUpperCase()
}

const transportName = (sc: Scanner): string => {
  const start = sc.pos
  token(sc, "a transport in Via")
  return transportOf(sc.s, start, sc.pos)
}

/** received = IPv4address / IPv6address, also accepted as [IPv6address]. */
const receivedAddress = (sc: Scanner, value: string | null): string => {
  if (value !== null) {
    const bracketed = value.charCodeAt(0) === LBRACKET && value.endsWith("]")
    const address = bracketed ? value.slice(1, -1) : value
    if (isIPv4(address, 0, address.length) && !bracketed) return address
    if (isIPv6(address, 0, address.length)) return canonicalColons(address)
  }
  return fail("received must be an IP address", sc.paramOffset)
}

const maddrHost = (sc: Scanner): string => host(sc, "maddr")

const scanVia = (sc: Scanner): Via => {
  skipWs(sc)
  const protocol = sentProtocol(sc)
  skipWs(sc)
  const transport = transportName(sc)
  if (!skipRequiredWs(sc)) fail(`expected a space before the Via sent-by, found ${describeAt(sc.s, sc.pos, sc.end)}`, sc.pos)
  const hostname = host(sc, "Via sent-by")
  let port: number | undefined
  skipWs(sc)
  if (peek(sc) === COLON) {
    sc.pos++
    skipWs(sc)
    port = decimal(sc, 65535, false, "Via port")
  }
  let branch: string | undefined
  let received: string | undefined
  let rport: number | null | undefined
  let maddr: string | undefined
  let ttl: number | undefined
  let params: Map<string, string | null> | undefined
  while (nextParam(sc)) {
    const value = sc.paramValue
    switch (sc.paramName) {
      case "branch":
        branch = tokenParam(sc, "branch")
        break
      case "received":
        received = receivedAddress(sc, value)
        break
      case "rport":
        rport = value === null ? null : decimalParam(sc, 65535, false, "rport")
        break
      case "maddr":
        maddr = withinParamValue(sc, "maddr", maddrHost)
        break
      case "ttl":
        ttl = decimalParam(sc, 255, false, "ttl")
        break
      default:
        ;(params ??= new Map()).set(sc.paramName, value)
    }
  }
  return { protocol, transport, host: hostname, port, branch, received, rport, maddr, ttl, params: params ?? emptyParams }
}

/** The via-parms of one Via value at the cursor (see {@link parseVia}); signals errors with `Lexer.fail`. */
export const scanViaValue = (sc: Scanner): ReadonlyArray<Via> => {
  const vias = [scanVia(sc)]
  while (listContinues(sc, "Via")) vias.push(scanVia(sc))
  return vias
}

/**
 * All via-parms of one Via header value (`SIP/2.0/UDP a;branch=x, SIP/2.0/TCP b`),
 * with LWS allowed around `/`, `:`, `;`, `=` and `,`.
 *
 * @category parsing
 * @since 0.1.0
 */
export const parseVia = (value: string): Result.Result<ReadonlyArray<Via>, SIPParseError> =>
  run(value, scanViaValue)

/**
 * {@link parseVia} over `text[start, end)`; error offsets are positions in `text`.
 *
 * @category parsing
 * @since 0.1.0
 */
export const parseViaRange = (
  text: string,
  start: number,
  end: number
): Result.Result<ReadonlyArray<Via>, SIPParseError> => runRange(text, start, end, scanViaValue)

/**
 * One via-parm: sent-protocol, sent-by, then `rport`, `branch`, `received`,
 * `maddr`, `ttl` and the other parameters. `received` is written bare, as
 * RFC 3261's grammar has it.
 *
 * @category formatting
 * @since 0.1.0
 */
export const formatVia = (via: Via): string => {
  let out = `${via.protocol}/${via.transport} ${formatHost(via.host)}`
  if (via.port !== undefined) out += `:${via.port}`
  if (via.rport !== undefined) out += via.rport === null ? ";rport" : `;rport=${via.rport}`
  if (via.branch !== undefined) out += `;branch=${via.branch}`
  if (via.received !== undefined) out += `;received=${via.received}`
  if (via.maddr !== undefined) out += `;maddr=${formatHost(via.maddr)}`
  if (via.ttl !== undefined) out += `;ttl=${via.ttl}`
  return out + formatParams(via.params)
}
