'use client'

import type { ConnectionMonitor } from '../lib/connection-monitor'
import type { SaveTracker } from '../lib/save-tracker'
import { useStore } from '../lib/use-store'

/**
 * "Saved" strictly means: on the server's disk. Edits made offline are only in IndexedDB, which
 * is said differently so nobody mistakes one for the other.
 */
export function SaveStatus({ save, connection }: { save: SaveTracker; connection: ConnectionMonitor }) {
  const pending = useStore(save.pending)
  const online = useStore(connection.state) === 'online'
  const state = !pending ? 'saved' : online ? 'saving' : 'local'
  const label = { saved: 'Saved', saving: 'Saving…', local: 'Stored in this browser' }[state]
  return (
    <span
      className="status"
      data-testid="save-status"
      data-state={state}
      title={state === 'local' ? 'Your changes will be saved when the connection is back' : undefined}
    >
      <span className="status__dot" aria-hidden="true" />
      {label}
    </span>
  )
}
