/**
 * A message for many connections (a relayed update, a caret move, the greeting every newcomer
 * gets). The document makes one per broadcast; the transport frames it for the wire on its first
 * send and every receiver gets those same bytes, since a server's WebSocket frames are not masked.
 */
export class SharedMessage {
  /** The frame as written to the wire: filled in by the transport on the first send. */
  wire: Buffer | null = null

  constructor(readonly payload: Uint8Array) {}
}
