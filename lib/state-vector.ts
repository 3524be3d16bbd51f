/**
 * State vectors as both sides read them: the browser's "Saved", the tests' and the benchmark's
 * waits. A state vector maps each Yjs client id to how many of its changes are included.
 */
import * as decoding from 'lib0/decoding'
import * as Y from 'yjs'
import { MessageType } from './protocol'

export type StateVector = Map<number, number>

/** How many of `client`'s changes `ydoc` holds (its own by default), without encoding anything. */
export function clockOf(ydoc: Y.Doc, client: number = ydoc.clientID): number {
  return Y.getState(ydoc.store, client)
}

/** Every client's clock in `ydoc`. */
export function stateVectorOf(ydoc: Y.Doc): StateVector {
  return Y.decodeStateVector(Y.encodeStateVector(ydoc))
}

/** True when `saved` holds everything `local` does. */
export function covers(saved: StateVector, local: StateVector): boolean {
  for (const [client, clock] of local) if ((saved.get(client) ?? 0) < clock) return false
  return true
}

/** Reads a SavedState payload (after the message type). */
export function decodeSavedStatePayload(decoder: decoding.Decoder): StateVector {
  return Y.decodeStateVector(decoding.readVarUint8Array(decoder))
}

/** The stored state a whole SavedState frame announces; null for any other frame. */
export function decodeSavedStateFrame(frame: Uint8Array): StateVector | null {
  const decoder = decoding.createDecoder(frame)
  if (decoding.readVarUint(decoder) !== MessageType.SavedState) return null
  return decodeSavedStatePayload(decoder)
}
