/**
 * The `node:dgram` RTP socket on 127.0.0.1 and ::1: received datagrams
 * reach the callback with the sender's host and port, sends leave at once,
 * failures are counted, a host name is looked up once for the bind, a taken
 * port fails the bind as "address in use", and the socket closes with its
 * scope.
 */
import * as Dgram from "node:dgram"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import { NetAddress } from "effect/net"
import * as RtpSocket from "../../../src/rtp/RtpSocket.ts"
import { rawSocket } from "./helpers.ts"

/** A receiver that notes what it is told. */
const recorder = () => {
  const packets: Array<{ readonly payload: Uint8Array; readonly host: string; readonly port: number }> = []
  const errors = { count: 0 }
  const receiver: RtpSocket.RtpReceiver = {
    onPacket: (payload, host, port) => packets.push({ payload: new Uint8Array(payload), host, port }),
    onSendError: () => errors.count++
  }
  return { packets, errors, receiver }
}

const until = (condition: () => boolean) =>
  Effect.gen(function*() {
    for (let i = 0; i < 200 && !condition(); i++) yield* Effect.sleep("5 millis")
  })

describe("RtpSocket.openNode", () => {
  it.live("delivers datagrams with the sender's host and port, and sends to a peer", () =>
    Effect.gen(function*() {
      const { packets, receiver } = recorder()
      const socket = yield* RtpSocket.openNode({ address: "127.0.0.1", port: 0 }, receiver)
      const peer = yield* rawSocket()
      expect(NetAddress.formatHost(socket.address)).toBe("127.0.0.1")

      yield* peer.send(new Uint8Array([1, 2, 3]), socket.address.port)
      yield* until(() => packets.length === 1)
      expect(packets).toEqual([{ payload: new Uint8Array([1, 2, 3]), host: "127.0.0.1", port: peer.port }])

      const destination = NetAddress.inetAddressFromIpStringUnsafe("127.0.0.1", peer.port)
      const payload = new Uint8Array([9, 8, 7])
      expect(socket.send(payload, "127.0.0.1", destination)).toBeUndefined()
      yield* until(() => peer.received.length === 1 && !socket.busy())
      expect(peer.received).toEqual([new Uint8Array([9, 8, 7])])
      expect(socket.busy()).toBe(false)
    }).pipe(Effect.scoped))

  it.live("a send that cannot be made is counted, not thrown", () =>
    Effect.gen(function*() {
      const { errors, receiver } = recorder()
      const socket = yield* RtpSocket.openNode({ address: "127.0.0.1", port: 0 }, receiver)
      // An IPv6 destination from an IPv4 socket fails in the kernel.
      const v6 = NetAddress.inetAddressFromIpStringUnsafe("::1", 9)
      socket.send(new Uint8Array(4), "::1", v6)
      yield* until(() => errors.count === 1)
      expect(errors.count).toBe(1)
      expect(socket.busy()).toBe(false)
    }).pipe(Effect.scoped))

  it.live("a taken port fails as AddressInUse; the port is free again once the scope closes", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const first = yield* RtpSocket.openNode({ address: "127.0.0.1", port: 0 }, recorder().receiver).pipe(
        Scope.provide(scope)
      )
      const port = first.address.port
      const taken = yield* RtpSocket.openNode({ address: "127.0.0.1", port }, recorder().receiver).pipe(Effect.flip)
      expect(taken.reason._tag === "DatagramSocketOpenError" && taken.reason.kind).toBe("AddressInUse")
      yield* Scope.close(scope, Exit.void)
      const again = yield* RtpSocket.openNode({ address: "127.0.0.1", port }, recorder().receiver)
      expect(again.address.port).toBe(port)
    }).pipe(Effect.scoped))

  it.live("IPv6: the sender's host as Node formats it, and replies to it", () =>
    Effect.gen(function*() {
      const { packets, receiver } = recorder()
      const socket = yield* RtpSocket.openNode({ address: "::1", port: 0 }, receiver)
      expect(socket.address._tag).toBe("InetAddressV6")
      const peer = yield* Effect.acquireRelease(
        Effect.callback<Dgram.Socket>((resume) => {
          const raw = Dgram.createSocket("udp6")
          raw.bind(0, "::1", () => resume(Effect.succeed(raw)))
        }),
        (raw) => Effect.sync(() => raw.close())
      )
      const received: Array<Uint8Array> = []
      peer.on("message", (message) => received.push(new Uint8Array(message)))
      peer.send(new Uint8Array([4, 2]), socket.address.port, "::1")
      yield* until(() => packets.length === 1)
      const from = packets[0]!
      expect({ host: from.host, port: from.port }).toEqual({ host: "::1", port: peer.address().port })
      const destination = NetAddress.inetAddressFromIpStringUnsafe("::1", from.port)
      expect(NetAddress.formatHost(destination)).toBe(from.host)
      socket.send(new Uint8Array([2, 4]), from.host, destination)
      yield* until(() => received.length === 1)
      expect(received).toEqual([new Uint8Array([2, 4])])
    }).pipe(Effect.scoped))

  it.live("a host name is looked up for the bind", () =>
    Effect.gen(function*() {
      const socket = yield* RtpSocket.openNode({ address: "localhost", port: 0 }, recorder().receiver)
      expect(["127.0.0.1", "::1"]).toContain(NetAddress.formatHost(socket.address))
      expect(socket.address.port).toBeGreaterThan(0)
    }).pipe(Effect.scoped))
})
