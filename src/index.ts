/**
 * effect-voip: SIP and RTP for TypeScript on Effect.
 *
 * Each module is exported as a namespace (`SIPMessage.parse`, `PCMU.encode`,
 * `Sdp.parse`); pyVoIP's enums and the most used classes also stand alone.
 *
 * @since 0.1.0
 */
export const version = "0.1.0"

// SIP messages
export * as HeaderValues from "./sip/HeaderValues.ts"
export * as SIPMessage from "./sip/SIPMessage.ts"
export { SIPMessageType } from "./sip/SIPMessage.ts"
export { SIPParseError } from "./sip/SIPParseError.ts"
export { SIPStatus } from "./sip/SIPStatus.ts"
export * as Uri from "./sip/Uri.ts"
export * as Validate from "./sip/Validate.ts"

// SDP
export * as OfferAnswer from "./sdp/OfferAnswer.ts"
export * as Sdp from "./sdp/Sdp.ts"

// Media vocabulary, RTP and codecs
export * as Dtmf from "./rtp/Dtmf.ts"
export * as JitterBuffer from "./rtp/JitterBuffer.ts"
export * as Linear8 from "./rtp/Linear8.ts"
export { DynamicPayloadType, type MediaKind, type PayloadMapping, PayloadType, RTPProtocol, TransmitType } from "./rtp/PayloadType.ts"
export type { G711Codec } from "./rtp/G711.ts"
export type { RemoteReception, RTPStats } from "./rtp/Metrics.ts"
export * as PCMA from "./rtp/PCMA.ts"
export * as PCMU from "./rtp/PCMU.ts"
export * as Rtcp from "./rtp/Rtcp.ts"
export * as RTPMessage from "./rtp/RTPMessage.ts"
export * as Audio from "./rtp/Audio.ts"
export { InvalidRangeError, NoPortsAvailableError, type PortRange, RTPPorts } from "./rtp/Ports.ts"
export * as RTPClient from "./rtp/RTPClient.ts"
export type { RtpReceiver, RtpSocket, SocketBinding } from "./rtp/RtpSocket.ts"
export { RTPPacer } from "./rtp/Pacer.ts"
export * as Wav from "./rtp/Wav.ts"

// Settings and credentials
export { defaults as defaultSettings, type Settings, setTlsSecurity, TlsVerifyMode, VoIPSettings } from "./Config.ts"
export { Credentials, CredentialsManager } from "./Credentials.ts"
export * as Digest from "./sip/auth/Digest.ts"
export { DigestAlgorithm } from "./sip/auth/Hash.ts"

// Transactions, dialogs, the SIP client and registration
export * as Dialog from "./sip/dialog/Dialog.ts"
export * as UaCore from "./sip/dialog/UaCore.ts"
export * as TransactionLayer from "./sip/transaction/TransactionLayer.ts"
export { TransactionRequestError, TransactionStateError, TransactionTimeoutError } from "./sip/transaction/TransactionError.ts"
export { ClientState, type ClientTransaction, type ClientTransactionError } from "./sip/transaction/ClientTransaction.ts"
export { type RespondError, ServerState, type ServerTransaction } from "./sip/transaction/ServerTransaction.ts"
export type { TimerValues } from "./sip/transaction/Timers.ts"
export * as Account from "./sip/client/Account.ts"
export { InvalidAccountInfoError, RegistrationRejectedError } from "./sip/client/ClientError.ts"
export { PhoneStatus } from "./sip/client/PhoneStatus.ts"
export type { RegistrationError } from "./sip/client/Registration.ts"
export type { AuthenticatedResponse, AuthenticationError, SendAuthenticatedError } from "./sip/client/Authenticated.ts"
export {
  type CreateRequestInit,
  type SendAuthenticatedOptions,
  SIPClient,
  type SIPClientShape,
  type StackOptions
} from "./sip/client/SIPClient.ts"
export type { Scanner } from "./sip/headers/Lexer.ts"

// Transports and NAT
export { AddressType, NAT, NATError, type NATOptions } from "./transport/Nat.ts"
export type { OpenedStream, ResolvedDestination } from "./transport/Connections.ts"
export type { ConnectionSnapshot, TransportCounters, TransportSnapshot } from "./transport/DebugDump.ts"
export {
  type ConnectionId,
  type Destination,
  type Endpoint,
  type IncomingMessage,
  type SendReceipt,
  type SendTarget,
  SipTransport,
  SipTransportError,
  type SipTransportShape
} from "./transport/SipTransport.ts"
export type { Arrival } from "./transport/TransportCore.ts"
export * as Tcp from "./transport/Tcp.ts"
export * as Tls from "./transport/Tls.ts"
export { TransportMode } from "./transport/TransportMode.ts"
export * as Udp from "./transport/Udp.ts"

// The phone and its calls
export { bridge, type BridgeOptions } from "./voip/Bridge.ts"
export { CallState, EndReason, formatEndReason } from "./voip/CallState.ts"
export { CallError, InvalidParameterError, InvalidStateError } from "./voip/Errors.ts"
export type { HoldSide } from "./voip/CallSession.ts"
export type { CallDirection, CallEvent, VoIPCall } from "./voip/VoIPCall.ts"
export {
  type CallOptions,
  type IncomingCallHandler,
  type PhoneLayerError,
  type PhoneOptions,
  PhoneStartError,
  type ReceivedMessage,
  VoIPPhone,
  type VoIPPhoneShape
} from "./voip/VoIPPhone.ts"
export * as VoIPPhoneParameter from "./voip/VoIPPhoneParameter.ts"
