/**
 * The dialogs one INVITE creates on the UAC side when a proxy forks it
 * (RFC 3261 §12.1.2, §13.2.2.4): every 1xx with a new To tag starts an early
 * dialog, the first 2xx confirms the call's dialog, and a 2xx from another
 * fork afterwards creates a dialog the UAC must ACK and then end with BYE.
 *
 * Reliable provisional responses (RFC 3262 §4): {@link reliable} tells
 * whether a 1xx with `Require: 100rel` is acknowledged with PRACK (the next
 * RSeq of its early dialog, with its PRACK built in that dialog) or dropped
 * (a retransmission, or a response that skipped an RSeq).
 *
 * An {@link InviteDialogs} is an immutable value kept by whoever waits for
 * the INVITE's responses; it is dropped with that fiber, so the early dialogs
 * of forks that never answered leave nothing behind.
 *
 * @since 0.1.0
 */
import { Result } from "effect"
import * as SIPMessage from "../SIPMessage.ts"
import type { SIPParseError } from "../SIPParseError.ts"
import * as Dialog from "./Dialog.ts"

/**
 * @category models
 * @since 0.1.0
 */
export interface InviteDialogs {
  readonly invite: SIPMessage.SIPMessage
  /** Dialogs by the remote (To) tag. */
  readonly dialogs: ReadonlyMap<string, Dialog.Dialog>
  /** The remote tag of the dialog the call goes on with: the first confirmed one. */
  readonly confirmedTag: string | undefined
  readonly localContact: string | undefined
  /** The RSeq of the last reliable provisional response acknowledged, by remote tag. */
  readonly rseqs: ReadonlyMap<string, number>
}

/**
 * What a response meant for the dialogs of the INVITE.
 *
 * @category models
 * @since 0.1.0
 */
export type ForkEvent =
  /** A 1xx with a new To tag: a new early dialog. */
  | { readonly _tag: "Early"; readonly dialog: Dialog.Dialog }
  /** Another 1xx of a known early dialog (its remote target may have changed). */
  | { readonly _tag: "Updated"; readonly dialog: Dialog.Dialog }
  /** The first 2xx: the call's dialog, to ACK. */
  | { readonly _tag: "Confirmed"; readonly dialog: Dialog.Dialog }
  /** A 2xx of a dialog already confirmed (a retransmission: its ACK is sent again). */
  | { readonly _tag: "Retransmission"; readonly dialog: Dialog.Dialog }
  /** A 2xx from another fork once the call has its dialog: ACK it, then BYE it. */
  | { readonly _tag: "Extra"; readonly dialog: Dialog.Dialog }
  /** A non-2xx final response: every early dialog ended. */
  | { readonly _tag: "Failed" }
  /** 100, a 1xx without To tag, or a 1xx of a dialog already confirmed: nothing to do. */
  | { readonly _tag: "Ignored" }

/**
 * Nothing received yet for `invite`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const start = (invite: SIPMessage.SIPMessage, options: { readonly localContact?: string | undefined } = {}): InviteDialogs => ({
  invite,
  dialogs: new Map(),
  confirmedTag: undefined,
  localContact: options.localContact,
  rseqs: new Map()
})

const statusOf = (response: SIPMessage.SIPMessage): number => response.status === 0 ? 0 : response.status.value

const withDialog = (state: InviteDialogs, dialog: Dialog.Dialog, confirmedTag = state.confirmedTag): InviteDialogs => {
  const dialogs = new Map(state.dialogs)
  dialogs.set(dialog.remoteTag, dialog)
  return { ...state, dialogs, confirmedTag }
}

/**
 * Takes in one response of the INVITE.
 *
 * @category combinators
 * @since 0.1.0
 */
export const onResponse = (
  state: InviteDialogs,
  response: SIPMessage.SIPMessage
): Result.Result<{ readonly state: InviteDialogs; readonly event: ForkEvent }, Dialog.DialogError> => {
  const status = statusOf(response)
  if (status >= 300) return Result.succeed({ state: { ...state, dialogs: new Map(), rseqs: new Map() }, event: { _tag: "Failed" } })
  const tag = response.to?.tag
  if (status <= 100 || tag === undefined) return Result.succeed({ state, event: { _tag: "Ignored" } })
  const known = state.dialogs.get(tag)
  if (known === undefined) {
    return Result.map(Dialog.fromResponse(state.invite, response, { localContact: state.localContact }), (dialog) => {
      if (status < 200) return { state: withDialog(state, dialog), event: { _tag: "Early", dialog } as const }
      const first = state.confirmedTag === undefined
      return {
        state: withDialog(state, dialog, first ? tag : state.confirmedTag),
        event: { _tag: first ? "Confirmed" : "Extra", dialog } as const
      }
    })
  }
  if (known.state === Dialog.DialogState.CONFIRMED) {
    return Result.succeed({ state, event: status < 200 ? { _tag: "Ignored" } : { _tag: "Retransmission", dialog: known } })
  }
  const dialog = Dialog.onResponse(known, response)
  if (status < 200) return Result.succeed({ state: withDialog(state, dialog), event: { _tag: "Updated", dialog } })
  const first = state.confirmedTag === undefined
  return Result.succeed({
    state: withDialog(state, dialog, first ? tag : state.confirmedTag),
    event: { _tag: first ? "Confirmed" : "Extra", dialog }
  })
}

/**
 * What a provisional response means under RFC 3262.
 *
 * @category models
 * @since 0.1.0
 */
export type Reliability =
  /** Not sent reliably: processed as any 1xx. */
  | { readonly _tag: "Unreliable" }
  /** The next reliable response of its early dialog: process it and send `prack`. */
  | { readonly _tag: "Prack"; readonly prack: SIPMessage.SIPMessage; readonly dialog: Dialog.Dialog }
  /** A retransmission, or one that skipped an RSeq (§4): neither PRACKed nor processed. */
  | { readonly _tag: "Drop" }

/**
 * Takes in a 1xx (after {@link onResponse}, so its early dialog exists): a
 * reliable one, `Require: 100rel` with an RSeq, gets a PRACK with
 * `RAck: <RSeq> <CSeq> INVITE` built in its early dialog (which advances its
 * CSeq) when its RSeq is the first of that dialog or one above the last;
 * another RSeq is dropped (§4). 100 and responses without RSeq are
 * unreliable.
 *
 * @category combinators
 * @since 0.1.0
 */
export const reliable = (
  state: InviteDialogs,
  response: SIPMessage.SIPMessage
): Result.Result<{ readonly state: InviteDialogs; readonly reliability: Reliability }, SIPParseError> => {
  const unreliable = Result.succeed({ state, reliability: { _tag: "Unreliable" } as const })
  const status = statusOf(response)
  if (status <= 100 || status >= 200 || !SIPMessage.requires(response, "100rel")) return unreliable
  const tag = response.to?.tag
  const dialog = tag === undefined ? undefined : state.dialogs.get(tag)
  const rseq = Number((response.headers.get("RSeq") ?? "").trim())
  const cseq = state.invite.cseq?.seq
  if (dialog === undefined || tag === undefined || cseq === undefined || !Number.isInteger(rseq) || rseq < 1) return unreliable
  if (dialog.state === Dialog.DialogState.CONFIRMED) return Result.succeed({ state, reliability: { _tag: "Drop" } })
  const last = state.rseqs.get(tag)
  if (last !== undefined && rseq !== last + 1) return Result.succeed({ state, reliability: { _tag: "Drop" } })
  return Result.map(
    Dialog.createRequest(dialog, "PRACK", { headers: [["RAck", `${rseq} ${cseq} INVITE`]] }),
    ({ dialog: next, request }) => {
      const rseqs = new Map(state.rseqs)
      rseqs.set(tag, rseq)
      return { state: { ...withDialog(state, next), rseqs }, reliability: { _tag: "Prack", prack: request, dialog: next } as const }
    }
  )
}

/**
 * The state with `dialog` in place of its earlier version (a request sent in
 * an early dialog advanced its CSeq).
 *
 * @category combinators
 * @since 0.1.0
 */
export const update = (state: InviteDialogs, dialog: Dialog.Dialog): InviteDialogs =>
  state.dialogs.has(dialog.remoteTag) ? withDialog(state, dialog) : state
