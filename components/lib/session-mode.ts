/**
 * How a document is opened: with its edit id (the `/d/<docId>` link), or with a view id (the
 * `/v/<viewId>` link), which reads and shows presence but never writes. A viewer never learns
 * the edit id: the view id is all it has, and all it sends.
 */
export type SessionMode = { kind: 'edit'; docId: string } | { kind: 'view'; viewId: string }

/** The id a mode opens the document with, whichever kind it is. */
export function modeId(mode: SessionMode): string {
  return mode.kind === 'edit' ? mode.docId : mode.viewId
}
