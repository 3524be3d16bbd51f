/**
 * When an automatic version is made: after a pause in editing (PAUSE), and at least every MAX of
 * continuous editing, so a long session still has points to go back to. Short bursts are
 * coalesced: an edit within the pause only postpones the version. Pure: the history calls `due`
 * with the times it saw, and arms a timer for `nextCheck`.
 */
export interface CheckpointPolicy {
  /** Quiet time after the last edit that makes a version. */
  pauseMs: number
  /** Longest stretch of edits without a version. */
  maxMs: number
}

export const DEFAULT_CHECKPOINT_POLICY: CheckpointPolicy = { pauseMs: 2 * 60_000, maxMs: 30 * 60_000 }

/** The edits since the last version: when the first and the last arrived; null when none. */
export interface PendingEdits {
  firstAt: number
  lastAt: number
}

export function checkpointDue(policy: CheckpointPolicy, edits: PendingEdits | null, now: number): 'pause' | 'continuous' | null {
  if (edits === null) return null
  if (now - edits.lastAt >= policy.pauseMs) return 'pause'
  if (now - edits.firstAt >= policy.maxMs) return 'continuous'
  return null
}

/** When to look again (ms since the epoch), or null with nothing pending. */
export function nextCheck(policy: CheckpointPolicy, edits: PendingEdits | null): number | null {
  if (edits === null) return null
  return Math.min(edits.lastAt + policy.pauseMs, edits.firstAt + policy.maxMs)
}

/** The pending edits after one more at `now`. */
export function noteEdit(edits: PendingEdits | null, now: number): PendingEdits {
  return edits === null ? { firstAt: now, lastAt: now } : { firstAt: edits.firstAt, lastAt: Math.max(edits.lastAt, now) }
}
