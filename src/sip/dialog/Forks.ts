/**
 * The dialogs one INVITE creates on the UAC side when a proxy forks it
 * (RFC 3261 §12.1.2, §13.2.2.4): every 1xx with a new To tag starts an early
 * dialog, the first 2xx confirms the call's dialog, and a 2xx from another
 * fork afterwards creates a dialog the UAC must ACK and then end with BYE.
 *
 * An {@link InviteDialogs} is an immutable value kept by whoever waits for
 * the INVITE's responses; it is dropped with that fiber, so the early dialogs
 * of forks that never answered leave nothing behind.
 *
 * @since 0.1.0
 */
import { Result } from "effect"
import type * as SIPMessage from "../SIPMessage.ts"
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
  localContact: options.localContact
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
  if (status >= 300) return Result.succeed({ state: { ...state, dialogs: new Map() }, event: { _tag: "Failed" } })
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
