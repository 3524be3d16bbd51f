'use client'

import type { ConnectionMonitor } from '../lib/connection-monitor'
import type { SaveTracker } from '../lib/save-tracker'
import type { Store } from '../lib/store'
import { useStore } from '../lib/use-store'

/**
 * "Saved" strictly means: on the server's disk. Edits made offline are only in IndexedDB, which
 * is said differently so nobody mistakes one for the other, and only once IndexedDB has them.
 */
export function SaveStatus({
  save,
  connection,
  storingInBrowser,
}: {
  save: SaveTracker
  connection: ConnectionMonitor
  storingInBrowser: Store<boolean>
}) {
  const pending = useStore(save.pending)
  const connectionState = useStore(connection.state)
  const storing = useStore(storingInBrowser)
  // Once the server has closed for good nothing will be saved, whatever was before.
  const state =
    connectionState === 'stopped'
      ? pending
        ? 'unsaved'
        : 'stopped'
      : !pending
        ? 'saved'
        : connectionState === 'online' || storing
          ? 'saving'
          : 'local'
  const label = {
    saved: 'Saved',
    saving: 'Saving…',
    local: 'Stored in this browser',
    unsaved: 'Not saved',
    stopped: 'Saving stopped',
  }[state]
  return (
    <span
      className="status"
      data-testid="save-status"
      data-state={state}
      title={
        state === 'local'
          ? 'Your changes will be saved when the connection is back'
          : state === 'unsaved' || state === 'stopped'
            ? 'The server closed the connection: reload the page to save again'
            : undefined
      }
    >
      <span className="status__dot" aria-hidden="true" />
      {label}
    </span>
  )
}
