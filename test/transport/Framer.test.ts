import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import { type Frame, makeFramer } from "../../src/transport/Framer.ts"

const encoder = new TextEncoder()
const decoder = new TextDecoder()
const limits = { maxHeaderBytes: 4096, maxMessageBytes: 16384 }

const request = (body: string, contentLengthHeader = "Content-Length"): string =>
  "OPTIONS sip:bob@127.0.0.1 SIP/2.0\r\n" +
  "Via: SIP/2.0/TCP 127.0.0.1:5070;branch=z9hG4bK-1\r\n" +
  "Call-ID: framing@test\r\n" +
  "CSeq: 1 OPTIONS\r\n" +
  `${contentLengthHeader}: ${encoder.encode(body).length}\r\n\r\n` + body

const describeFrames = (frames: ReadonlyArray<Frame>): Array<string> =>
  frames.map((frame) => frame._tag === "Message" ? decoder.decode(frame.bytes) : frame._tag)

const feed = (chunks: ReadonlyArray<Uint8Array>) => {
  const framer = makeFramer(limits)
  const frames: Array<Frame> = []
  for (const chunk of chunks) {
    const output = framer.push(chunk)
    expect(output.error).toBeUndefined()
    frames.push(...output.frames)
  }
  return { frames: describeFrames(frames), buffered: framer.buffered() }
}

/** Cuts `bytes` at the given offsets (sorted, deduplicated, inside the array). */
const split = (bytes: Uint8Array, cuts: ReadonlyArray<number>): Array<Uint8Array> => {
  const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b)
  const chunks: Array<Uint8Array> = []
  let previous = 0
  for (const point of [...points, bytes.length]) {
    chunks.push(bytes.subarray(previous, point))
    previous = point
  }
  return chunks
}

describe("Framer", () => {
  it("frames one message and keeps nothing back", () => {
    const message = request("v=0\r\n")
    expect(feed([encoder.encode(message)])).toEqual({ frames: [message], buffered: 0 })
  })

  it("frames a message fed one byte at a time", () => {
    const message = request("hello body")
    const bytes = encoder.encode(message)
    const result = feed(Array.from(bytes, (_, i) => bytes.subarray(i, i + 1)))
    expect(result).toEqual({ frames: [message], buffered: 0 })
  })

  it("frames several messages glued in one read, with the compact l: form and no body", () => {
    const first = request("abc")
    const second = request("", "l")
    const third = request("0123456789", "content-LENGTH")
    expect(feed([encoder.encode(first + second + third)]).frames).toEqual([first, second, third])
  })

  it("keeps a partial message buffered until its body arrives", () => {
    const message = request("0123456789")
    const framer = makeFramer(limits)
    const bytes = encoder.encode(message)
    const head = framer.push(bytes.subarray(0, bytes.length - 4))
    expect(head.frames).toEqual([])
    expect(framer.buffered()).toBe(bytes.length - 4)
    expect(describeFrames(framer.push(bytes.subarray(bytes.length - 4)).frames)).toEqual([message])
  })

  it("reads CRLF CRLF between messages as a ping and a lone CRLF as a pong (RFC 5626)", () => {
    const message = request("")
    expect(feed([encoder.encode(`\r\n\r\n${message}\r\n${message}`)]).frames).toEqual(["Ping", message, "Pong", message])
  })

  it("waits for the next bytes before deciding between ping and pong", () => {
    expect(feed([encoder.encode("\r\n"), encoder.encode("\r\n")])).toEqual({ frames: ["Ping"], buffered: 0 })
    expect(feed([encoder.encode("\r\n")])).toEqual({ frames: [], buffered: 2 })
  })

  it("takes the body length from a folded Content-Length line", () => {
    const message = "MESSAGE sip:a@b SIP/2.0\r\nContent-Length:\r\n 4\r\nCall-ID: x\r\n\r\nbody"
    expect(feed([encoder.encode(message + message)]).frames).toEqual([message, message])
  })

  it("treats a missing Content-Length as an empty body, leaving the verdict to the parser", () => {
    const message = "OPTIONS sip:a@b SIP/2.0\r\nCall-ID: x\r\n\r\n"
    expect(feed([encoder.encode(message + message)]).frames).toEqual([message, message])
  })

  it("cuts off a peer that streams bytes without ever ending its headers", () => {
    const framer = makeFramer(limits)
    const junk = new Uint8Array(1024).fill(65)
    let error: unknown
    for (let i = 0; i < 10 && error === undefined; i++) error = framer.push(junk).error
    expect(error).toMatchObject({ _tag: "FramingError", reason: "HeaderTooLarge", header: undefined })
    expect(framer.push(junk).error).toBe(error)
  })

  it("refuses a message whose Content-Length exceeds the limit before its body arrives, keeping its header", () => {
    const header = "INVITE sip:a@b SIP/2.0\r\nCall-ID: big\r\nContent-Length: 10000000\r\n\r\n"
    const output = makeFramer(limits).push(encoder.encode(request("ok") + header))
    expect(describeFrames(output.frames)).toEqual([request("ok")])
    expect(output.error?.reason).toBe("MessageTooLarge")
    expect(decoder.decode(output.error?.header)).toBe(header)
  })

  it("stops at once on bytes that cannot start a SIP message, such as a TLS ClientHello", () => {
    const output = makeFramer(limits).push(new Uint8Array([0x16, 0x03, 0x01, 0x02, 0x00]))
    expect(output.error).toMatchObject({ reason: "NotSip", detail: "byte 0x16 cannot start a SIP message" })
    const afterMessage = makeFramer(limits).push(encoder.encode(`${request("")}\r\n\u0000`))
    expect(describeFrames(afterMessage.frames)).toEqual([request(""), "Pong"])
    expect(afterMessage.error?.reason).toBe("NotSip")
  })

  it("refuses an unreadable or contradictory Content-Length", () => {
    for (
      const value of [
        "Content-Length: ten\r\n",
        "Content-Length: 4\r\nl: 5\r\n",
        "Content-Length:\r\n",
        "Content-Length: 99999999999999\r\n"
      ]
    ) {
      const output = makeFramer(limits).push(encoder.encode(`OPTIONS sip:a@b SIP/2.0\r\n${value}\r\n`))
      expect(output.error?.reason).toBe("BadContentLength")
    }
  })

  it("frames any sequence of messages and keep-alives the same way however the bytes are split", () => {
    const part = fc.oneof(
      fc.string({ maxLength: 40 }).map((body) => request(body)),
      fc.string({ maxLength: 40 }).map((body) => request(body, "l")),
      fc.constant("\r\n\r\n")
    )
    fc.assert(
      fc.property(fc.array(part, { maxLength: 6 }), fc.array(fc.nat(), { maxLength: 30 }), (parts, cuts) => {
        const bytes = encoder.encode(parts.join(""))
        const expected = parts.map((p) => (p === "\r\n\r\n" ? "Ping" : p))
        expect(feed(split(bytes, cuts))).toEqual({ frames: expected, buffered: 0 })
      }),
      { numRuns: 300 }
    )
  })

  it("never throws and never buffers more than the message limit on arbitrary bytes", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 2048 }), { maxLength: 8 }), (chunks) => {
        const framer = makeFramer({ maxHeaderBytes: 512, maxMessageBytes: 4096 })
        for (const chunk of chunks) {
          const output = framer.push(chunk)
          if (output.error !== undefined) return
          expect(framer.buffered()).toBeLessThanOrEqual(4096)
        }
      }),
      { numRuns: 300 }
    )
  })
})
