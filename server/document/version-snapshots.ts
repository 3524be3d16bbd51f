/**
 * How a version's Yjs snapshot is stored cheaply. A snapshot is a state vector plus the whole
 * delete set, and the delete set of an edited document grows with every deletion: stored in full
 * for each version, the automerge-paper trace's 259 versions cost 5.8x the document. Deletions
 * only ever accumulate, so each version stores only what was deleted since the previous one, and
 * every KEYFRAME_EVERY-th version the whole set (so that reading a version reads a bounded run).
 */
import * as Y from 'yjs'

export const KEYFRAME_EVERY = 64

type DeleteSet = Y.Snapshot['ds']

/** What `current` deletes that `previous` does not (both as Yjs makes them: sorted, merged ranges). */
export function deleteSetDelta(current: DeleteSet, previous: DeleteSet): DeleteSet {
  const delta = Y.createDeleteSet()
  for (const [client, ranges] of current.clients) {
    const old = previous.clients.get(client) ?? []
    const kept: { clock: number; len: number }[] = []
    let j = 0
    for (const range of ranges) {
      let start = range.clock
      const end = range.clock + range.len
      while (j < old.length && old[j].clock + old[j].len <= start) j++
      let k = j
      while (start < end) {
        const next = old[k]
        if (!next || next.clock >= end) {
          kept.push({ clock: start, len: end - start })
          break
        }
        if (next.clock > start) kept.push({ clock: start, len: next.clock - start })
        start = Math.max(start, next.clock + next.len)
        k++
      }
    }
    if (kept.length > 0)
      delta.clients.set(
        client,
        kept.map(({ clock, len }) => new DeleteItem(clock, len)),
      )
  }
  return delta
}

// Yjs does not export its DeleteItem class; a structurally equal one encodes the same.
class DeleteItem {
  constructor(
    readonly clock: number,
    readonly len: number,
  ) {}
}

/** The bytes stored for a version: its full snapshot for a keyframe, else its delta from `previous`. */
export function encodeVersionSnapshot(snapshot: Y.Snapshot, previous: Y.Snapshot | null, keyframe: boolean): Uint8Array {
  if (keyframe || previous === null) return Y.encodeSnapshot(snapshot)
  return Y.encodeSnapshot(Y.createSnapshot(deleteSetDelta(snapshot.ds, previous.ds), snapshot.sv))
}

/**
 * The snapshot of the last of `stored` (oldest first, starting at a keyframe): its state vector
 * with the union of every delete set in the run.
 */
export function decodeVersionSnapshot(stored: readonly Uint8Array[]): Y.Snapshot {
  const snapshots = stored.map((bytes) => Y.decodeSnapshot(bytes))
  const last = snapshots[snapshots.length - 1]
  return Y.createSnapshot(Y.mergeDeleteSets(snapshots.map((snapshot) => snapshot.ds)), last.sv)
}

/** The seq of the keyframe a version's run starts at. */
export function keyframeOf(seq: number): number {
  return seq - ((seq - 1) % KEYFRAME_EVERY)
}

export function isKeyframe(seq: number): boolean {
  return keyframeOf(seq) === seq
}
