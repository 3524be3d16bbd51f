import type { WebsocketProvider } from 'y-websocket'
import { CloseCode, type Notice } from '../../lib/protocol'
import { Store } from './store'

export type SessionEndKind =
  | 'view-link-reset'
  | 'view-link-dead'
  | 'change-too-large'
  | 'document-unavailable'
  | 'refused'
  | 'sign-in-needed'
  | 'no-access'

/** Why this page's connection is over for good, in words for the person looking at it. */
export interface SessionEnd {
  kind: SessionEndKind
  heading: string
  /** What happened and what to do about it. */
  message: string
  closeCode: number
  /** The code of the server's notice this message was made from, if one was. */
  noticeCode: string | null
  /** True when the document itself must leave the screen (a view link that stopped working). */
  takesDocumentAway: boolean
}

/**
 * What to tell the person when the server closed for good. The server's notice, sent just before
 * the close, says best what happened; the close code says what to do; without either, the close
 * reason is all there is. Pure, for tests.
 */
export function describeSessionEnd(close: { code: number; reason: string }, notice: Notice | null): SessionEnd {
  const { code } = close
  const reason = close.reason.trim()
  const told = notice?.message.trim()
  const end = (kind: SessionEndKind, heading: string, message: string): SessionEnd => ({
    kind,
    heading,
    message,
    closeCode: code,
    noticeCode: notice && told && message.includes(sentence(told)) ? notice.code : null,
    // Without access, the text must not stay on screen either (it would look live, and it is not theirs).
    takesDocumentAway:
      kind === 'view-link-reset' || kind === 'view-link-dead' || kind === 'sign-in-needed' || kind === 'no-access',
  })
  if (code === CloseCode.NotAuthorized) {
    return end(
      'sign-in-needed',
      'Sign in to open this document',
      told ??
        `${sentence(reason && !/^sign in/i.test(reason) ? capitalized(reason) : 'Only people who are signed in and have access can open it')} Nothing you saved is lost.`,
    )
  }
  if (code === CloseCode.Forbidden) {
    return end(
      'no-access',
      told ? 'Your access was removed' : 'You have no access to this document',
      told ?? `${sentence(reason ? capitalized(reason) : 'Ask its owner to share it with you')}`,
    )
  }
  if (code === CloseCode.ViewLinkRevoked) {
    return end('view-link-reset', 'View link reset', 'This view link was reset by an editor. Ask for the new link.')
  }
  if (code === CloseCode.ViewLinkNotFound) {
    return end(
      'view-link-dead',
      'Link not working',
      'This view link does not work any more. An editor may have reset it: ask for the new link.',
    )
  }
  if (code === CloseCode.ChangeTooLarge || code === CloseCode.MessageTooBig || notice?.code === 'document-too-large') {
    return end(
      'change-too-large',
      'Your last change was not saved',
      `${sentence(told ?? 'The server refused a change too large for this document.')} ` +
        'It is kept in this browser only, and this page no longer saves anything. ' +
        'Undo the change (or copy out what you need), then reload the page.',
    )
  }
  if (code === CloseCode.DocumentUnavailable || notice?.code === 'document-unavailable') {
    return end(
      'document-unavailable',
      'This document cannot be opened right now',
      `${sentence(told ?? 'The server could not read this document.')} ` +
        'Nothing typed on this page now reaches the server. Try again later by reloading the page; ' +
        'if it keeps happening, tell whoever runs this Chorus server.',
    )
  }
  const why = told ?? (reason ? `The server ended the connection: ${reason}.` : `The server ended the connection (code ${code}).`)
  return end(
    'refused',
    'Disconnected by the server',
    `${sentence(why)} This page no longer saves anything. Reload the page to connect again.`,
  )
}

function capitalized(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1)
}

function sentence(text: string): string {
  return /[.!?]$/.test(text) ? text : `${text}.`
}

/**
 * Watches for the server closing for good (y-websocket's 'closed'), remembering the last error
 * notice of the current connection, which is what the server sends to say why.
 */
export class SessionEndWatch {
  readonly ended = new Store<SessionEnd | null>(null)
  readonly #provider: WebsocketProvider
  #notice: Notice | null = null

  constructor(provider: WebsocketProvider) {
    this.#provider = provider
    provider.on('closed', this.#onClosed)
    provider.on('status', this.#onStatus)
  }

  /** A notice from the server arrived. */
  noticeReceived(notice: Notice): void {
    if (notice.level === 'error') this.#notice = notice
  }

  destroy(): void {
    this.#provider.off('closed', this.#onClosed)
    this.#provider.off('status', this.#onStatus)
  }

  readonly #onStatus = ({ status }: { status: string }): void => {
    // A notice from an earlier connection does not explain this one's close.
    if (status === 'connecting') this.#notice = null
  }

  readonly #onClosed = (close: { code: number; reason: string }): void => {
    this.ended.set(describeSessionEnd(close, this.#notice))
  }
}
