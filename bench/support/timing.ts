/**
 * When the RTP packets of this thread go out: every `node:dgram` send noted
 * with `performance.now()` per socket, folded into a histogram of the
 * intervals between one socket's consecutive sends.
 */
import * as Dgram from "node:dgram"
import { performance } from "node:perf_hooks"

const bucketMs = 0.05
const buckets = 20_000

/** Send instants of every RTP socket, folded into a histogram of intervals. */
export class SendTiming {
  readonly histogram = new Uint32Array(buckets + 1)
  readonly last = new Map<object, number>()
  max = 0
  record(socket: object, now: number) {
    const previous = this.last.get(socket)
    this.last.set(socket, now)
    if (previous === undefined) return
    const interval = now - previous
    this.max = Math.max(this.max, interval)
    this.histogram[Math.min(buckets, Math.round(interval / bucketMs))]!++
  }
  reset() {
    this.histogram.fill(0)
    this.max = 0
  }
}

/** A histogram of the same shape as {@link SendTiming}'s, empty. */
export const emptyHistogram = () => new Uint32Array(buckets + 1)

/** The interval (ms) below which a fraction `p` of the histogram's intervals fall. */
export const percentile = (histogram: Uint32Array, p: number): number => {
  const total = histogram.reduce((sum, count) => sum + count, 0)
  let seen = 0
  for (let bucket = 0; bucket <= buckets; bucket++) {
    seen += histogram[bucket]!
    if (seen >= total * p) return bucket * bucketMs
  }
  return buckets * bucketMs
}

/**
 * Notes the instant of every RTP datagram this thread sends, at
 * `node:dgram`'s send itself, so the sessions keep their default sockets.
 * RTCP (packet types 200-204 in the second octet, RFC 5761 §4) and
 * anything that is not RTP version 2 (SIP) is left out.
 */
export const noteSends = (timing: SendTiming) => {
  const send = Dgram.Socket.prototype.send as (...args: Array<unknown>) => void
  Dgram.Socket.prototype.send = function(this: Dgram.Socket, ...args: Array<unknown>) {
    const payload = args[0] as Uint8Array
    if (payload.length >= 12 && payload[0]! >> 6 === 2 && (payload[1]! < 200 || payload[1]! > 204)) timing.record(this, performance.now())
    return send.apply(this, args)
  } as typeof Dgram.Socket.prototype.send
}
