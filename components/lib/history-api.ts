import type { Author, CatchUp, Version, VersionPage } from '../../lib/history'
import { CSRF_HEADER, historyApiBase } from '../../lib/routes'
import type { SessionMode } from './session-mode'

/**
 * The server's history API (server/transport/history-api.ts) as the page calls it: an editor's
 * page by document id, a viewer's by view id (reads only). Rejects with a sentence to show.
 */
export class HistoryApi {
  private readonly base: string

  /** `csrf`: the signed-in session's token, which the server asks of every write (null without sign-in). */
  constructor(
    mode: SessionMode,
    private readonly csrf: string | null = null,
  ) {
    this.base = historyApiBase(mode.kind === 'edit' ? { docId: mode.docId } : { viewId: mode.viewId })
  }

  list(before: string | null = null, limit = 100): Promise<VersionPage> {
    const query = new URLSearchParams({ limit: String(limit) })
    if (before) query.set('before', before)
    return this.call(`/versions?${query}`)
  }

  /** The version's HTML, with the changes since `compare` ('previous', a version id) marked. */
  async html(id: string, compare: string | null): Promise<string> {
    const query = new URLSearchParams({ format: 'html' })
    if (compare) query.set('compare', compare)
    return (await this.call<{ content: string }>(`/versions/${encodeURIComponent(id)}?${query}`)).content
  }

  /** The version as the editor's ProseMirror JSON. */
  async json(id: string): Promise<Record<string, unknown>> {
    return (await this.call<{ content: Record<string, unknown> }>(`/versions/${encodeURIComponent(id)}?format=json`)).content
  }

  /** Names the current state, including everything this page has (`stateVector`). */
  name(name: string, author: Author, stateVector: Uint8Array): Promise<Version> {
    return this.call('/versions', { name, author, stateVector: toBase64(stateVector) })
  }

  /** Makes the current state (with everything this page has) a version, unless it is one already. */
  async checkpoint(stateVector: Uint8Array): Promise<void> {
    await this.call('/versions', { checkpoint: true, stateVector: toBase64(stateVector) })
  }

  /** Records a restore this page made itself, once the server holds `stateVector`. */
  recordRestore(restoredFrom: string, stateVector: Uint8Array, author: Author): Promise<Version> {
    return this.call('/versions', { restoredFrom, stateVector: toBase64(stateVector), author })
  }

  catchUp(since: string, me: string): Promise<CatchUp> {
    return this.call(`/catch-up?${new URLSearchParams({ since, me })}`)
  }

  private async call<T>(path: string, body?: unknown): Promise<T> {
    let response: Response
    try {
      response = await fetch(`${this.base}${path}`, {
        method: body === undefined ? 'GET' : 'POST',
        cache: 'no-store',
        headers:
          body === undefined
            ? undefined
            : { 'content-type': 'application/json', ...(this.csrf ? { [CSRF_HEADER]: this.csrf } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
      })
    } catch {
      throw new Error('The server could not be reached.')
    }
    const answer = (await response.json().catch(() => null)) as (T & { error?: unknown }) | null
    if (!response.ok || answer === null) {
      const detail = typeof answer?.error === 'string' ? `: ${answer.error}` : ''
      throw new Error(`The server refused (${response.status}${detail}).`)
    }
    return answer
  }
}

function toBase64(bytes: Uint8Array): string {
  let binary = ''
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return btoa(binary)
}
