/**
 * The RFC 3261 transaction timers (§17, Table 4) and RFC 6026's L and M, in
 * milliseconds, worked out once from T1, T2 and T4 and from whether the
 * transport is reliable: on TCP and TLS nothing is retransmitted and the
 * timers that only wait for retransmissions (D, I, K, and J for requests)
 * are zero.
 *
 * @since 0.1.0
 */
import { Duration } from "effect"
import type { Settings } from "../../Config.ts"

/**
 * The timers a transaction runs. `Trying` is the 200 ms after which an INVITE
 * server transaction answers 100 Trying for a slow TU (§17.2.1).
 *
 * @category models
 * @since 0.1.0
 */
export type TimerName = "A" | "B" | "D" | "E" | "F" | "G" | "H" | "I" | "J" | "K" | "L" | "M" | "Trying"

/**
 * Every timer duration, in milliseconds. A, E and G are the first
 * retransmission intervals; they are `undefined` on a reliable transport,
 * where nothing is retransmitted.
 *
 * @category models
 * @since 0.1.0
 */
export interface TimerValues {
  readonly t1: number
  readonly t2: number
  readonly t4: number
  readonly reliable: boolean
  /** INVITE request retransmission, doubling without cap. */
  readonly a: number | undefined
  /** INVITE transaction timeout: 64·T1. */
  readonly b: number
  /** Wait for response retransmissions after a non-2xx final to INVITE: at least 32 s, 0 on reliable transports. */
  readonly d: number
  /** Non-INVITE request retransmission, doubling up to T2. */
  readonly e: number | undefined
  /** Non-INVITE transaction timeout: 64·T1. */
  readonly f: number
  /** INVITE non-2xx final response retransmission, doubling up to T2. */
  readonly g: number | undefined
  /** Wait for the ACK of a non-2xx final: 64·T1. */
  readonly h: number
  /** Wait for ACK retransmissions: T4, 0 on reliable transports. */
  readonly i: number
  /** Wait for non-INVITE request retransmissions: 64·T1, 0 on reliable transports. */
  readonly j: number
  /** Wait for non-INVITE response retransmissions: T4, 0 on reliable transports. */
  readonly k: number
  /** INVITE server Accepted state (RFC 6026): 64·T1. */
  readonly l: number
  /** INVITE client Accepted state (RFC 6026): 64·T1. */
  readonly m: number
  /** 100 Trying from an INVITE server transaction whose TU has not answered yet. */
  readonly trying: number
}

const TRYING_MILLIS = 200
const MIN_TIMER_D_MILLIS = 32_000

/**
 * The timers for T1, T2, T4 and a transport.
 *
 * @category constructors
 * @since 0.1.0
 */
export const timerValues = (settings: Pick<Settings, "t1" | "t2" | "t4">, reliable: boolean): TimerValues => {
  const t1 = Duration.toMillis(settings.t1)
  const t2 = Duration.toMillis(settings.t2)
  const t4 = Duration.toMillis(settings.t4)
  const transactionTimeout = 64 * t1
  return {
    t1,
    t2,
    t4,
    reliable,
    a: reliable ? undefined : t1,
    b: transactionTimeout,
    d: reliable ? 0 : Math.max(MIN_TIMER_D_MILLIS, transactionTimeout),
    e: reliable ? undefined : t1,
    f: transactionTimeout,
    g: reliable ? undefined : t1,
    h: transactionTimeout,
    i: reliable ? 0 : t4,
    j: reliable ? 0 : transactionTimeout,
    k: reliable ? 0 : t4,
    l: transactionTimeout,
    m: transactionTimeout,
    trying: TRYING_MILLIS
  }
}

/**
 * The interval after `interval` for a retransmission that doubles up to T2
 * (Timers E and G, and the UAS 2xx retransmission of §13.3.1.4).
 *
 * @category combinators
 * @since 0.1.0
 */
export const backoffUpToT2 = (timers: TimerValues, interval: number): number => Math.min(2 * interval, timers.t2)

/**
 * The interval after `interval` for Timer A, which doubles without cap. It
 * never needs to go past B: the transaction times out first.
 *
 * @category combinators
 * @since 0.1.0
 */
export const backoffUncapped = (timers: TimerValues, interval: number): number => Math.min(2 * interval, timers.b)
