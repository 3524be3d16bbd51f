import { useCallback, useEffect, useRef, useState } from 'react'
import { requestViewLink } from '../lib/view-link-api'

export type ViewLinkState =
  | { status: 'loading' }
  | { status: 'ready'; viewId: string; wasReset: boolean }
  | { status: 'failed'; message: string }

export interface ViewLink {
  state: ViewLinkState
  resetting: boolean
  /** Why the last reset failed; the previous link then still works. */
  resetError: string | null
  /** Fetch again after a failure. */
  retry(): void
  /** Replace the view link: the old one stops working and its viewers are disconnected. */
  reset(): void
}

/**
 * The document's view link, fetched when this hook mounts (the Share dialog mounts its content
 * when it opens), so documents nobody shares never get one.
 */
export function useViewLink(docId: string): ViewLink {
  const [state, setState] = useState<ViewLinkState>({ status: 'loading' })
  const [attempt, setAttempt] = useState(0)
  const [resetting, setResetting] = useState(false)
  const [resetError, setResetError] = useState<string | null>(null)
  const mounted = useRef(true)

  useEffect(() => {
    mounted.current = true
    return () => {
      mounted.current = false
    }
  }, [])

  // biome-ignore lint/correctness/useExhaustiveDependencies: a new attempt (retry) asks again
  useEffect(() => {
    let current = true
    setState({ status: 'loading' })
    requestViewLink(docId).then(
      (viewId) => current && setState({ status: 'ready', viewId, wasReset: false }),
      (error: Error) => current && setState({ status: 'failed', message: error.message }),
    )
    return () => {
      current = false
    }
  }, [docId, attempt])

  const reset = useCallback(() => {
    setResetting(true)
    setResetError(null)
    requestViewLink(docId, { reset: true }).then(
      (viewId) => {
        if (!mounted.current) return
        setState({ status: 'ready', viewId, wasReset: true })
        setResetting(false)
      },
      (error: Error) => {
        if (!mounted.current) return
        setResetError(error.message)
        setResetting(false)
      },
    )
  }, [docId])

  const retry = useCallback(() => setAttempt((n) => n + 1), [])

  return { state, resetting, resetError, retry, reset }
}
