/**
 * effect-voip for callers that do not use Effect: `createPhone` gives a
 * phone whose methods return promises and whose streams are async
 * iterables, over the same services as the Effect API. Typed failures
 * reject with the library's own error classes (each an `Error` with a
 * `_tag`), re-exported here with the values the API takes and gives.
 *
 * ```ts
 * import { createPhone } from "effect-voip/promise"
 *
 * await using phone = await createPhone({ server: "pbx.example.org", user: "alice", credentials: { username: "alice", password: "secret" } })
 * const call = await phone.call("bob")
 * console.log(await call.ended())
 * ```
 *
 * @since 0.1.0
 */
export { type AudioSource, Call, type CallEvent } from "./Call.ts"
export type { BridgeOptions } from "../voip/Bridge.ts"
export { createPhone, type CreatePhoneError, Phone, type PhoneOptions, type PlainCredentials } from "./Phone.ts"

export { type Settings } from "../Config.ts"
export { CredentialsManager } from "../Credentials.ts"
export type { RTPStats } from "../rtp/Metrics.ts"
export { PayloadType } from "../rtp/PayloadType.ts"
export { InvalidRangeError, NoPortsAvailableError } from "../rtp/Ports.ts"
export { DtmfSendError } from "../rtp/RTPClient.ts"
export { AccountSettingsError } from "../sip/client/Account.ts"
export { InvalidAccountInfoError, RegistrationRejectedError } from "../sip/client/ClientError.ts"
export { PhoneStatus } from "../sip/client/PhoneStatus.ts"
export type { NameAddr } from "../sip/HeaderValues.ts"
export { TransactionTimeoutError } from "../sip/transaction/TransactionError.ts"
export { formatUri } from "../sip/Uri.ts"
export { NATError } from "../transport/Nat.ts"
export { type Endpoint, SipTransportError } from "../transport/SipTransport.ts"
export { TransportMode } from "../transport/TransportMode.ts"
export { CallState, EndReason, formatEndReason } from "../voip/CallState.ts"
export { CallError, InvalidParameterError, InvalidStateError } from "../voip/Errors.ts"
export type { CallDirection, DenyStatus } from "../voip/VoIPCall.ts"
export { type CallOptions, PhoneStartError, type ReceivedMessage } from "../voip/VoIPPhone.ts"
