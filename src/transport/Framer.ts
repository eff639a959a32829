/**
 * Cuts a TCP/TLS byte stream into SIP messages (RFC 3261 §18.3): a message is
 * its header block up to the first empty line plus exactly Content-Length
 * body bytes. Bytes arrive in arbitrary pieces: a message split over many
 * reads, several messages in one read. Between messages, a double CRLF is an
 * RFC 5626 §3.5.1 keep-alive "ping" (to be answered with one CRLF) and a single
 * CRLF is its "pong".
 *
 * The framer looks only at the bytes it needs (the blank line, the
 * Content-Length / `l` header); everything else is the SIP parser's job. Header
 * blocks and messages above the configured limits stop the stream, since a peer
 * that never sends a blank line would otherwise make us buffer forever.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * @category models
 * @since 0.1.0
 */
export interface FramerLimits {
  readonly maxHeaderBytes: number
  readonly maxMessageBytes: number
}

/**
 * What the stream carried: a complete message (header block and body, ready
 * for the parser), a keep-alive ping or a pong.
 *
 * @category models
 * @since 0.1.0
 */
export type Frame =
  | { readonly _tag: "Message"; readonly bytes: Uint8Array }
  | { readonly _tag: "Ping" }
  | { readonly _tag: "Pong" }

const ping: Frame = { _tag: "Ping" }
const pong: Frame = { _tag: "Pong" }

/**
 * The stream cannot be cut into messages any more: it carries something else
 * than SIP (e.g. a TLS handshake sent to a TCP port), a header block or message
 * is too large, or Content-Length is unreadable. `header` is the complete
 * header block when one was read (a message over the size limit, or with an
 * unreadable Content-Length), so the transport can still answer the request.
 *
 * @category errors
 * @since 0.1.0
 */
export class FramingError extends Schema.TaggedError<FramingError>()("FramingError", {
  reason: Schema.Literals(["NotSip", "HeaderTooLarge", "MessageTooLarge", "BadContentLength"]),
  detail: Schema.String,
  header: Schema.UndefinedOr(Schema.Uint8Array)
}) {
  override get message(): string {
    return `${this.reason}: ${this.detail}`
  }
}

/**
 * The result of feeding bytes to a framer: the frames completed so far and,
 * once the stream is unusable, the reason (the frames before it are still
 * good).
 *
 * @category models
 * @since 0.1.0
 */
export interface FramerOutput {
  readonly frames: ReadonlyArray<Frame>
  readonly error: FramingError | undefined
}

/**
 * A stateful framer for one connection.
 *
 * @category models
 * @since 0.1.0
 */
export interface StreamFramer {
  /** Adds received bytes; returns the frames they complete. */
  readonly push: (chunk: Uint8Array) => FramerOutput
  /** Bytes held that do not form a complete frame yet (a partial message). */
  readonly buffered: () => number
}

const CR = 13
const LF = 10
const SP = 32
const HT = 9
const COLON = 58
const maxContentLengthDigits = 10

/** Bytes that can start a SIP message: a method (a token) or "SIP/2.0". */
const startsMessage = new Uint8Array(256)
for (const c of "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~") startsMessage[c.charCodeAt(0)] = 1

/**
 * Index just past the blank line ending the header block, searching
 * `bytes[from, to)`; -1 when it is not there yet. A bare-LF blank line is
 * accepted too, so that a sloppy peer gets a parse error instead of a hung
 * connection.
 */
const findHeaderEnd = (bytes: Uint8Array, from: number, to: number): number => {
  for (let i = from; i < to; i++) {
    if (bytes[i] !== LF) continue
    if (i + 1 < to && bytes[i + 1] === LF) return i + 2
    if (i + 2 < to && bytes[i + 1] === CR && bytes[i + 2] === LF) return i + 3
  }
  return -1
}

const lowerAscii = (byte: number): number => (byte >= 65 && byte <= 90 ? byte + 32 : byte)

const isContentLengthName = (bytes: Uint8Array, start: number, end: number): boolean => {
  const length = end - start
  if (length === 1) return lowerAscii(bytes[start]!) === 108 // "l"
  if (length !== 14) return false
  const name = "content-length"
  for (let i = 0; i < 14; i++) {
    if (lowerAscii(bytes[start + i]!) !== name.charCodeAt(i)) return false
  }
  return true
}

type ContentLength =
  | { readonly _tag: "Length"; readonly value: number }
  | { readonly _tag: "Invalid"; readonly detail: string }

/**
 * Reads Content-Length (or compact `l`) from the header block
 * `bytes[start, end)`. Folded continuation lines belong to the header above
 * them. A missing header means an empty body; two headers that disagree, or a
 * value that is not a number, make the stream unframeable.
 */
const readContentLength = (bytes: Uint8Array, start: number, end: number): ContentLength => {
  let found: number | undefined
  let lineStart = start
  // the start line never carries a header
  while (lineStart < end && bytes[lineStart] !== LF) lineStart++
  lineStart++
  while (lineStart < end) {
    let lineEnd = lineStart
    while (lineEnd < end && bytes[lineEnd] !== LF) lineEnd++
    // a header line and every folded line after it
    let valueEnd = lineEnd
    while (valueEnd + 1 < end && (bytes[valueEnd + 1] === SP || bytes[valueEnd + 1] === HT)) {
      valueEnd++
      while (valueEnd < end && bytes[valueEnd] !== LF) valueEnd++
    }
    let colon = lineStart
    while (colon < lineEnd && bytes[colon] !== COLON) colon++
    let nameEnd = colon
    while (nameEnd > lineStart && (bytes[nameEnd - 1] === SP || bytes[nameEnd - 1] === HT)) nameEnd--
    if (colon < lineEnd && isContentLengthName(bytes, lineStart, nameEnd)) {
      let value = 0
      let digits = 0
      for (let i = colon + 1; i < valueEnd; i++) {
        const byte = bytes[i]!
        if (byte >= 48 && byte <= 57) {
          if (++digits > maxContentLengthDigits) {
            return { _tag: "Invalid", detail: "Content-Length has too many digits" }
          }
          value = value * 10 + (byte - 48)
        } else if (byte !== SP && byte !== HT && byte !== CR && byte !== LF) {
          return { _tag: "Invalid", detail: "Content-Length is not a number" }
        }
      }
      if (digits === 0) return { _tag: "Invalid", detail: "Content-Length is empty" }
      if (found !== undefined && found !== value) {
        return { _tag: "Invalid", detail: `Content-Length given twice (${found} and ${value})` }
      }
      found = value
    }
    lineStart = valueEnd + 1
  }
  return { _tag: "Length", value: found ?? 0 }
}

/**
 * Creates the framer for one connection.
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeFramer = (limits: FramerLimits): StreamFramer => {
  let buffer = new Uint8Array(0)
  let start = 0
  let end = 0
  // where the blank-line search resumes, so every byte is scanned once
  let scanFrom = 0
  // header end and total size of the message being received, once known
  let headerEnd = -1
  let messageEnd = -1
  let failure: FramingError | undefined

  const append = (chunk: Uint8Array): void => {
    if (end + chunk.length > buffer.length) {
      const pending = end - start
      const needed = pending + chunk.length
      const next = needed <= buffer.length ? buffer : new Uint8Array(Math.max(needed, buffer.length * 2, 4096))
      if (next === buffer) {
        buffer.copyWithin(0, start, end)
      } else {
        next.set(buffer.subarray(start, end))
      }
      buffer = next
      scanFrom -= start
      if (headerEnd >= 0) headerEnd -= start
      if (messageEnd >= 0) messageEnd -= start
      start = 0
      end = pending
    }
    buffer.set(chunk, end)
    end += chunk.length
  }

  const fail = (reason: FramingError["reason"], detail: string, header: Uint8Array | undefined): FramingError => {
    failure = new FramingError({ reason, detail, header })
    return failure
  }

  /** Consumes keep-alive CRLFs at a message boundary; false when more bytes are needed to decide. */
  const takeKeepAlive = (frames: Array<Frame>): boolean => {
    while (start < end && buffer[start] === CR) {
      if (end - start < 2) return false
      if (buffer[start + 1] !== LF) return true
      if (end - start < 3) return false
      if (buffer[start + 2] !== CR) {
        frames.push(pong)
        start += 2
        continue
      }
      if (end - start < 4) return false
      if (buffer[start + 3] !== LF) {
        frames.push(pong)
        start += 2
        continue
      }
      frames.push(ping)
      start += 4
    }
    return true
  }

  const push = (chunk: Uint8Array): FramerOutput => {
    if (failure !== undefined) return { frames: [], error: failure }
    append(chunk)
    const frames: Array<Frame> = []
    while (start < end) {
      if (headerEnd < 0) {
        if (!takeKeepAlive(frames)) break
        if (start >= end) break
        if (startsMessage[buffer[start]!] === 0) {
          const byte = buffer[start]!.toString(16).padStart(2, "0")
          return { frames, error: fail("NotSip", `byte 0x${byte} cannot start a SIP message`, undefined) }
        }
        scanFrom = Math.max(scanFrom, start)
        // the search restarts 2 bytes back so a blank line split across reads is found
        const found = findHeaderEnd(buffer, Math.max(start, scanFrom - 2), end)
        if (found < 0) {
          scanFrom = end
          if (end - start > limits.maxHeaderBytes) {
            return {
              frames,
              error: fail("HeaderTooLarge", `no end of headers within ${limits.maxHeaderBytes} bytes`, undefined)
            }
          }
          break
        }
        if (found - start > limits.maxHeaderBytes) {
          return {
            frames,
            error: fail("HeaderTooLarge", `header block of ${found - start} bytes exceeds ${limits.maxHeaderBytes}`, undefined)
          }
        }
        const contentLength = readContentLength(buffer, start, found)
        if (contentLength._tag === "Invalid") {
          return { frames, error: fail("BadContentLength", contentLength.detail, buffer.slice(start, found)) }
        }
        const size = found - start + contentLength.value
        if (size > limits.maxMessageBytes) {
          return {
            frames,
            error: fail("MessageTooLarge", `message of ${size} bytes exceeds ${limits.maxMessageBytes}`, buffer.slice(start, found))
          }
        }
        headerEnd = found
        messageEnd = start + size
      }
      if (end < messageEnd) break
      frames.push({ _tag: "Message", bytes: buffer.slice(start, messageEnd) })
      start = messageEnd
      scanFrom = start
      headerEnd = -1
      messageEnd = -1
    }
    if (start === end) {
      start = 0
      end = 0
      scanFrom = 0
    }
    return { frames, error: undefined }
  }

  return { push, buffered: () => end - start }
}
