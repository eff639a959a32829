/**
 * Helpers for the Promise API tests: peer-to-peer phones on 127.0.0.1
 * (SIP on a port the system picks), an RTP port pair free right now, and
 * small readers of async iterables.
 */
import * as Dgram from "node:dgram"
import { createPhone, type Phone, type PhoneOptions } from "../../src/promise/index.ts"

/**
 * Our RTP ports in these tests: 200 of 26000-29999 picked at random, away
 * from the lab's 15000-16999 and the other suites' fixed ranges (ports that
 * others hold are skipped, but a range someone fills is exhausted).
 */
export const RTP_LOW = 26000 + 200 * Math.floor(Math.random() * 20)
export const RTP_HIGH = RTP_LOW + 199

/** A started phone on 127.0.0.1 without registration; `options` override the defaults. */
export const peer = (options: Partial<PhoneOptions> = {}): Promise<Phone> =>
  createPhone({
    user: "lab",
    register: false,
    bindIp: "127.0.0.1",
    bindPort: 0,
    rtpPortLow: RTP_LOW,
    rtpPortHigh: RTP_HIGH,
    ...options
  })

/** The SIP port a phone is bound to. */
export const sipPort = async (phone: Phone): Promise<number> => {
  const address = await phone.localAddress()
  if (address === undefined) throw new Error("the phone is not running")
  return address.port
}

/** The URI that reaches `phone`. */
export const uriOf = async (phone: Phone): Promise<string> => `sip:lab@127.0.0.1:${await sipPort(phone)}`

const bindsUdp = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = Dgram.createSocket("udp4")
    socket.once("error", () => resolve(false))
    socket.bind(port, "127.0.0.1", () => socket.close(() => resolve(true)))
  })

/** An even port of 30000-32599 that, with the odd one above it, is free on UDP right now (below Linux's ephemeral range). */
export const freePortPair = async (): Promise<number> => {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = 30000 + 2 * Math.floor(Math.random() * 1300)
    if ((await bindsUdp(port)) && (await bindsUdp(port + 1))) return port
  }
  throw new Error("no free RTP port pair")
}

/** The first `count` elements (fewer if it ends first), leaving the loop early. */
export const take = async <A>(iterable: AsyncIterable<A>, count: number): Promise<ReadonlyArray<A>> => {
  const taken: Array<A> = []
  if (count <= 0) return taken
  for await (const element of iterable) {
    taken.push(element)
    if (taken.length === count) break
  }
  return taken
}

/** Every element until the iterable ends. */
export const collect = async <A>(iterable: AsyncIterable<A>): Promise<ReadonlyArray<A>> => {
  const all: Array<A> = []
  for await (const element of iterable) all.push(element)
  return all
}

/**
 * How many frames carry a loud signal (a peak above 4000). Counting them,
 * rather than matching the waveform, keeps the tests true on a loaded
 * machine, where a late sender skips a few slots.
 */
export const loudFrames = (frames: ReadonlyArray<Int16Array>): number =>
  frames.filter((frame) => frame.some((sample) => Math.abs(sample) > 4000)).length

/** Waits until `states` (a call's `states()`, a phone's `statusChanges()`) shows `state`: whether it did before it ended. */
export const reach = async <A>(states: AsyncIterable<A>, state: A): Promise<boolean> => {
  for await (const now of states) if (now === state) return true
  return false
}

/** The error a promise rejects with (the test fails if it resolves). */
export const rejection = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${String(value)}`)
    },
    (error: unknown) => error
  )
