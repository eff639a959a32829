/**
 * The in-memory RTP network: sockets bound by address and port (the
 * wildcard address receives on every address), the record of what was
 * sent, and loss, delay and reordering seen in the tap and at the receiver.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Random } from "effect"
import { TestClock } from "effect/testing"
import type { DatagramSocket } from "effect/socket"
import { LinkPolicy, MemoryRtpNetwork } from "../../src/testing/index.ts"

/** A socket bound at `address`:`port`, with a reader and a writer. */
const socketAt = (address: string, port: number) =>
  Effect.gen(function*() {
    const network = yield* MemoryRtpNetwork
    const socket = yield* network.factory({ address, port })
    return { reader: yield* socket.reader, writer: yield* socket.writer }
  })

const datagram = (n: number, address: DatagramSocket.Datagram["address"]): DatagramSocket.OutgoingDatagram => ({
  payload: new Uint8Array([n]),
  address
})

describe("MemoryRtp", () => {
  it.effect("delivers by address and port, records every write, and a wildcard socket receives on any address", () =>
    Effect.gen(function*() {
      const network = yield* MemoryRtpNetwork
      const a = yield* socketAt("10.0.0.1", 4000)
      const b = yield* socketAt("10.0.0.2", 4000)
      const any = yield* socketAt("0.0.0.0", 5000)
      yield* a.writer.write(datagram(1, b.reader.address))
      yield* TestClock.adjust("5 millis")
      yield* a.writer.write({ payload: new Uint8Array([2]), address: { ...any.reader.address, port: 5000 } })
      const [received] = yield* b.reader.pull
      expect(Array.from(received.payload)).toEqual([1])
      expect(received.address).toEqual(a.reader.address)
      expect((yield* any.reader.pull).map((d) => d.payload[0])).toEqual([2])
      expect(network.sent.map((d) => [d.at, d.from, d.to, d.payload[0]])).toEqual([
        [0, { address: "10.0.0.1", port: 4000 }, { address: "10.0.0.2", port: 4000 }, 1],
        [5, { address: "10.0.0.1", port: 4000 }, { address: "0.0.0.0", port: 5000 }, 2]
      ])
    }).pipe(Effect.provide(MemoryRtpNetwork.layer)))

  it.effect("a port in use fails the bind with AddressInUse, so RTPPorts tries the next one", () =>
    Effect.gen(function*() {
      yield* socketAt("10.0.0.1", 4000)
      const error = yield* Effect.flip(socketAt("10.0.0.1", 4000))
      expect(error.reason._tag).toBe("DatagramSocketOpenError")
      expect(error.reason._tag === "DatagramSocketOpenError" && error.reason.kind).toBe("AddressInUse")
    }).pipe(Effect.provide(MemoryRtpNetwork.layer)))

  it.effect("loss and reordering: the tap shows each datagram's fate and the receiver gets the survivors in arrival order", () =>
    Effect.gen(function*() {
      const network = yield* MemoryRtpNetwork
      const tap = yield* network.tap
      yield* network.setPolicy(LinkPolicy.lossy({ loss: 0.3, delayMillis: 10, jitterMillis: 40 }))
      const a = yield* socketAt("10.0.0.1", 4000)
      const b = yield* socketAt("10.0.0.2", 4000)
      for (let n = 0; n < 50; n++) {
        yield* a.writer.write(datagram(n, b.reader.address))
        yield* TestClock.adjust("1 millis")
      }
      yield* TestClock.adjust("100 millis")
      const packets = yield* tap.packets
      expect(packets).toHaveLength(50)
      const delivered = packets.filter((p) => p.fate._tag === "Deliver")
      const lost = packets.length - delivered.length
      expect(lost).toBeGreaterThan(5)
      expect(lost).toBeLessThan(30)
      const arrivals = (yield* b.reader.pull).map((d) => d.payload[0]!)
      // what arrived is exactly what the tap says was delivered, in order of arrival time
      const expected = delivered
        .map((p) => ({ n: p.bytes[0]!, at: p.sentAt + (p.fate._tag === "Deliver" ? p.fate.delayMillis : 0) }))
        .sort((x, y) => x.at - y.at || x.n - y.n)
        .map((p) => p.n)
      expect(arrivals).toEqual(expected)
      expect(arrivals).not.toEqual([...arrivals].sort((x, y) => x - y))
      expect(network.sent).toHaveLength(50)
    }).pipe(Effect.provide(MemoryRtpNetwork.layer), Random.withSeed(7)))

  it.effect("inject delivers as if a peer had sent, without counting as sent", () =>
    Effect.gen(function*() {
      const network = yield* MemoryRtpNetwork
      const b = yield* socketAt("10.0.0.2", 4000)
      yield* network.inject({ address: "10.0.0.2", port: 4000 }, new Uint8Array([9]), { address: "10.9.9.9", port: 7000 })
      const [received] = yield* b.reader.pull
      expect(received.payload[0]).toBe(9)
      expect(received.address.port).toBe(7000)
      expect(network.sent).toEqual([])
    }).pipe(Effect.provide(MemoryRtpNetwork.layer)))
})
