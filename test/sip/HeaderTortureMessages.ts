/**
 * Reads the start line and the unfolded header fields of a torture message
 * (RFC 4475 / RFC 5118 .dat files), so tests take header values straight
 * from the vectors rather than retyping them.
 */
import { readVector } from "../support/vectors.ts"

export interface TortureMessage {
  readonly startLine: string
  readonly headers: ReadonlyArray<readonly [name: string, value: string]>
}

export const readTortureMessage = (...path: ReadonlyArray<string>): TortureMessage => {
  const text = Buffer.from(readVector("sip-torture", ...path)).toString("latin1")
  const headEnd = text.indexOf("\r\n\r\n")
  const lines = (headEnd < 0 ? text : text.slice(0, headEnd)).split("\r\n")
  const headers: Array<[string, string]> = []
  for (const line of lines.slice(1)) {
    const last = headers.at(-1)
    if ((line.startsWith(" ") || line.startsWith("\t")) && last !== undefined) {
      last[1] = `${last[1]} ${line.trim()}`
      continue
    }
    const colon = line.indexOf(":")
    if (colon > 0) headers.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()])
  }
  return { startLine: lines[0] ?? "", headers }
}

/** Every value of the header named by any of `names` (case-insensitive: long and compact forms). */
export const headerValues = (message: TortureMessage, ...names: ReadonlyArray<string>): ReadonlyArray<string> => {
  const wanted = new Set(names.map((name) => name.toLowerCase()))
  return message.headers.filter(([name]) => wanted.has(name.toLowerCase())).map(([, value]) => value)
}

/** The only value of a header, failing loudly when the message has none or several. */
export const headerValue = (message: TortureMessage, ...names: ReadonlyArray<string>): string => {
  const values = headerValues(message, ...names)
  if (values.length !== 1) throw new Error(`expected one ${names.join("/")} header, found ${values.length}`)
  return values[0]!
}

/** The Request-URI: the text between the first and the last space of the request line. */
export const requestUri = (message: TortureMessage): string =>
  message.startLine.slice(message.startLine.indexOf(" ") + 1, message.startLine.lastIndexOf(" "))
