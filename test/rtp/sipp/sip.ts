/**
 * Test-only SIP over UDP, just enough to set up one call with SIPp so that
 * it becomes the RTP peer of a session: send an INVITE and its ACK and BYE,
 * or answer one. No retransmission timers, no transactions: SIPp on
 * loopback does not lose packets, and every wait is time-bounded.
 */
import { Duration, Effect, Queue } from "effect"
import { spawn } from "node:child_process"
import * as Dgram from "node:dgram"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

export interface SipSocket {
  readonly port: number
  /** The next message whose start line matches `startLine`, within 15 s. */
  readonly expect: (startLine: RegExp) => Effect.Effect<string>
  readonly send: (message: string, port: number) => Effect.Effect<void>
}

/** A SIP socket on 127.0.0.1, closed with the scope. */
export const sipSocket = Effect.gen(function*() {
  const inbox = yield* Queue.unbounded<string>()
  const socket = yield* Effect.acquireRelease(
    Effect.callback<Dgram.Socket>((resume) => {
      const socket = Dgram.createSocket("udp4")
      socket.on("message", (message) => Queue.offerUnsafe(inbox, message.toString("utf8")))
      socket.bind(0, "127.0.0.1", () => resume(Effect.succeed(socket)))
    }),
    (socket) => Effect.sync(() => socket.close())
  )
  const expectMessage = (startLine: RegExp): Effect.Effect<string> =>
    Effect.gen(function*() {
      while (true) {
        const message = yield* Queue.take(inbox)
        if (startLine.test(message.slice(0, message.indexOf("\r\n")))) return message
      }
    }).pipe(Effect.timeoutOrElse({
      duration: Duration.seconds(15),
      orElse: () => Effect.die(new Error(`no SIP message matching ${startLine} within 15 s`))
    }))
  return {
    port: socket.address().port,
    expect: expectMessage,
    send: (message: string, port: number) =>
      Effect.callback<void>((resume) => socket.send(message, port, "127.0.0.1", () => resume(Effect.void)))
  } satisfies SipSocket
})

/** The value of the first header called `name` (case-insensitive). */
export const header = (message: string, name: string): string => {
  const match = new RegExp(`^${name}\\s*:\\s*(.*)$`, "im").exec(message.slice(0, message.indexOf("\r\n\r\n")))
  if (match === null) throw new Error(`no ${name} header in:\n${message}`)
  return match[1]!.trim()
}

export const body = (message: string): string => message.slice(message.indexOf("\r\n\r\n") + 4)

const withBody = (lines: ReadonlyArray<string>, content = "", contentType?: string): string =>
  [
    ...lines,
    ...(contentType === undefined ? [] : [`Content-Type: ${contentType}`]),
    `Content-Length: ${Buffer.byteLength(content)}`,
    "",
    content
  ].join("\r\n")

const token = () => Math.random().toString(36).slice(2, 10)

/** The response to `request`, copying what RFC 3261 §8.2.6.2 says to copy; `toTag` added to To if given. */
export const response = (
  request: string,
  status: string,
  options: { readonly toTag?: string; readonly contact?: string; readonly sdp?: string } = {}
): string =>
  withBody(
    [
      `SIP/2.0 ${status}`,
      `Via: ${header(request, "Via")}`,
      `From: ${header(request, "From")}`,
      `To: ${header(request, "To")}${options.toTag === undefined ? "" : `;tag=${options.toTag}`}`,
      `Call-ID: ${header(request, "Call-ID")}`,
      `CSeq: ${header(request, "CSeq")}`,
      ...(options.contact === undefined ? [] : [`Contact: <${options.contact}>`])
    ],
    options.sdp ?? "",
    options.sdp === undefined ? undefined : "application/sdp"
  )

/**
 * Calls `sip:lab@127.0.0.1:<peerPort>` with `sdp`, ACKs the 200 and gives
 * its SDP answer and a `hangUp` that sends BYE and waits for its 200.
 */
export const call = (sip: SipSocket, peerPort: number, sdp: string) =>
  Effect.gen(function*() {
    const callId = `${token()}@127.0.0.1`
    const fromTag = token()
    const target = `sip:lab@127.0.0.1:${peerPort}`
    const request = (method: string, cseq: number, to: string, content?: string) =>
      withBody(
        [
          `${method} ${target} SIP/2.0`,
          `Via: SIP/2.0/UDP 127.0.0.1:${sip.port};branch=z9hG4bK${token()};rport`,
          "Max-Forwards: 70",
          `From: <sip:tester@127.0.0.1:${sip.port}>;tag=${fromTag}`,
          `To: ${to}`,
          `Call-ID: ${callId}`,
          `CSeq: ${cseq} ${method}`,
          `Contact: <sip:tester@127.0.0.1:${sip.port}>`
        ],
        content,
        content === undefined ? undefined : "application/sdp"
      )
    yield* sip.send(request("INVITE", 1, `<${target}>`, sdp), peerPort)
    const ok = yield* sip.expect(/^SIP\/2\.0 200 /)
    const to = header(ok, "To")
    yield* sip.send(request("ACK", 1, to), peerPort)
    return {
      answer: body(ok),
      hangUp: Effect.gen(function*() {
        yield* sip.send(request("BYE", 2, to), peerPort)
        yield* sip.expect(/^SIP\/2\.0 200 /)
      })
    }
  })

/** A UDP port nothing is bound to right now. */
export const freeUdpPort = Effect.callback<number>((resume) => {
  const probe = Dgram.createSocket("udp4")
  probe.bind(0, "127.0.0.1", () => {
    const port = probe.address().port
    probe.close(() => resume(Effect.succeed(port)))
  })
})

/**
 * Runs `sipp` with `args` in `cwd` (a fresh temporary directory unless
 * given) and gives its exit code and output. SIPp stops itself after 30 s
 * (`-timeout`); its process group is killed if the calling fiber is
 * interrupted first.
 */
export const runSipp = (args: ReadonlyArray<string>, cwd?: string) =>
  Effect.callback<{ readonly code: number | null; readonly output: string }>((resume) => {
    const directory = cwd ?? fs.mkdtempSync(path.join(os.tmpdir(), "effect-voip-rtp-sipp-"))
    const child = spawn("sipp", [...args, "-nostdin", "-timeout", "30s", "-timeout_error"], {
      cwd: directory,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"]
    })
    let output = ""
    child.stdout.on("data", (data: Buffer) => (output += data.toString()))
    child.stderr.on("data", (data: Buffer) => (output += data.toString()))
    child.on("close", (code) => {
      if (cwd === undefined) fs.rmSync(directory, { recursive: true, force: true })
      resume(Effect.succeed({ code, output }))
    })
    return Effect.sync(() => {
      if (child.exitCode === null && child.pid !== undefined) process.kill(-child.pid, "SIGKILL")
    })
  })
