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
  const online = useStore(connection.state) === 'online'
  const storing = useStore(storingInBrowser)
  const state = !pending ? 'saved' : online || storing ? 'saving' : 'local'
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
