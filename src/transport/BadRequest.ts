/**
 * The stateless answer to a request the SIP parser rejected (RFC 3261 §18.3,
 * §21.4.1 400 Bad Request, §21.5.14 513 Message Too Large). It is built from the
 * raw bytes, since the message did not parse: the start line must look like a
 * request, and its Via, Call-ID and CSeq must be readable so that the sender
 * can match the answer (§8.2.6.2 copies them with From and To). Anything less,
 * a response, or an ACK (which is never answered) gets no answer.
 *
 * @since 0.1.0
 */
import { Option } from "effect"

/**
 * @category models
 * @since 0.1.0
 */
export interface StatelessReply {
  readonly status: 400 | 513
  /** Why the request was refused; sent in a Warning header (code 399). */
  readonly reason: string
  /** Our host:port, the Warning's agent. */
  readonly warnAgent: string
  /** Added to To when the request's To has no tag (§8.2.6.2). */
  readonly toTag: string
}

const phrases = { 400: "Bad Request", 513: "Message Too Large" } as const

/** Header names we copy, with their compact forms (RFC 3261 §7.3.3). */
const copiedHeaders: ReadonlyArray<readonly [canonical: string, names: ReadonlyArray<string>]> = [
  ["Via", ["via", "v"]],
  ["From", ["from", "f"]],
  ["To", ["to", "t"]],
  ["Call-ID", ["call-id", "i"]],
  ["CSeq", ["cseq"]]
]

const requestLine = /^([!%*+\-.0-9A-Z_`a-z~']+) \S+ SIP\/2\.0$/
const tagParam = /;\s*tag\s*=/i
// RFC 3261 §25.1 quoted-string content: no raw CR, LF, quote or backslash
const unsafeWarnText = /["\\\r\n\u0000-\u001f\u007f]/g

/**
 * The header lines of a message, unfolded, as name/value pairs; undefined when
 * there is no blank line ending them (a truncated header block).
 */
const headerLines = (text: string): { readonly start: string; readonly headers: Array<readonly [string, string]> } | undefined => {
  const headerEnd = text.search(/\r?\n\r?\n/)
  if (headerEnd < 0) return undefined
  const lines = text.slice(0, headerEnd).split(/\r?\n/)
  const start = lines[0] ?? ""
  const headers: Array<readonly [string, string]> = []
  for (const line of lines.slice(1)) {
    const last = headers[headers.length - 1]
    if ((line.startsWith(" ") || line.startsWith("\t")) && last !== undefined) {
      headers[headers.length - 1] = [last[0], `${last[1]} ${line.trim()}`]
      continue
    }
    const colon = line.indexOf(":")
    if (colon <= 0) continue
    headers.push([line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()])
  }
  return { start, headers }
}

/**
 * The 400/513 to send back for the broken request in `bytes`, or none when the
 * request cannot be answered.
 *
 * @category constructors
 * @since 0.1.0
 */
export const statelessReply = (bytes: Uint8Array, reply: StatelessReply): Option.Option<Uint8Array> => {
  const text = new TextDecoder("utf-8", { fatal: false }).decode(bytes)
  const parsed = headerLines(text)
  if (parsed === undefined) return Option.none()
  const method = requestLine.exec(parsed.start)?.[1]
  if (method === undefined || method === "ACK") return Option.none()
  const lines: Array<string> = [`SIP/2.0 ${reply.status} ${phrases[reply.status]}`]
  for (const [canonical, names] of copiedHeaders) {
    const values = parsed.headers.filter(([name, value]) => names.includes(name) && value.length > 0)
    if (values.length === 0) {
      if (canonical === "From" || canonical === "To") continue
      return Option.none()
    }
    for (const [, value] of canonical === "Via" ? values : values.slice(0, 1)) {
      const withTag = canonical === "To" && !tagParam.test(value) ? `${value};tag=${reply.toTag}` : value
      lines.push(`${canonical}: ${withTag}`)
    }
  }
  lines.push(`Warning: 399 ${reply.warnAgent} "${reply.reason.replace(unsafeWarnText, " ")}"`)
  lines.push("Content-Length: 0", "", "")
  return Option.some(new TextEncoder().encode(lines.join("\r\n")))
}
