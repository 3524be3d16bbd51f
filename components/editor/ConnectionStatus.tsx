'use client'

import type { ConnectionMonitor, ConnectionState } from '../lib/connection-monitor'
import { useStore } from '../lib/use-store'

const LABELS: Record<ConnectionState, string> = {
  connecting: 'Connecting…',
  online: 'Online',
  offline: 'Offline — retrying…',
  stopped: 'Disconnected',
}

export function ConnectionStatus({ connection }: { connection: ConnectionMonitor }) {
  const state = useStore(connection.state)
  return (
    <span className="status" data-testid="connection-status" data-state={state} role="status">
      <span className="status__dot" aria-hidden="true" />
      {LABELS[state]}
    </span>
  )
}
