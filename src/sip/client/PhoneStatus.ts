/**
 * pyVoIP's `PhoneStatus`: where a phone stands with its registrar.
 *
 * - `INACTIVE`: not started, or stopped (deregistered).
 * - `REGISTERING`: a registration is on its way, or the last one failed and
 *   is being retried.
 * - `REGISTERED`: the registrar holds our binding. Without registration
 *   (peer-to-peer mode) the phone is `REGISTERED` as soon as it listens, so
 *   code that waits for `REGISTERED` before calling works in both modes.
 * - `DEREGISTERING`: the phone is stopping and removing its binding.
 * - `FAILED`: registration failed `registerFailureThreshold` times in a row;
 *   the phone has given up.
 *
 * @since 0.1.0
 */
import { type Effect, Option, SubscriptionRef } from "effect"

/**
 * @category models
 * @since 0.1.0
 */
export const PhoneStatus = {
  INACTIVE: "INACTIVE",
  REGISTERING: "REGISTERING",
  REGISTERED: "REGISTERED",
  DEREGISTERING: "DEREGISTERING",
  FAILED: "FAILED"
} as const

/**
 * @category models
 * @since 0.1.0
 */
export type PhoneStatus = (typeof PhoneStatus)[keyof typeof PhoneStatus]

/**
 * Sets the status held in `ref`; subscribers hear of it only when it
 * changes.
 *
 * @category combinators
 * @since 0.1.0
 */
export const setStatus = (
  ref: SubscriptionRef.SubscriptionRef<PhoneStatus>,
  status: PhoneStatus
): Effect.Effect<void> =>
  SubscriptionRef.updateSome(ref, (current) => current === status ? Option.none() : Option.some(status))
