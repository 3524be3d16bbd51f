/**
 * What a person typed into the link editor, as a link address. Only web (http, https) and email
 * (mailto) links are made: a link in a shared document is followed by people other than its
 * author, and other schemes (javascript:, data:, file:) are how a link turns into an attack.
 * Pure, for tests.
 */
export type LinkInput = { kind: 'remove' } | { kind: 'link'; href: string } | { kind: 'invalid'; message: string }

const WEB = /^https?:\/\//i
const MAILTO = /^mailto:/i
/** "scheme:" but not "host:port". */
const OTHER_SCHEME = /^[a-z][a-z0-9+.-]*:(?!\d)/i
const EMAIL = /^[^@\s/:]+@[^@\s/:]+\.[^@\s/:]+$/

export function parseLinkInput(input: string): LinkInput {
  const text = input.trim()
  if (text === '') return { kind: 'remove' }
  if (/\s/.test(text)) return invalid('A link address cannot contain spaces.')
  if (WEB.test(text)) return webLink(text)
  if (MAILTO.test(text)) {
    return EMAIL.test(text.slice('mailto:'.length).split('?')[0])
      ? { kind: 'link', href: text }
      : invalid('That email link has no valid address after "mailto:".')
  }
  if (text.startsWith('//')) return webLink(`https:${text}`)
  if (OTHER_SCHEME.test(text)) return invalid('Only web (https://) and email (mailto:) links can be added.')
  if (EMAIL.test(text)) return { kind: 'link', href: `mailto:${text}` }
  return webLink(`https://${text}`)
}

/** The address to open for a link already in the document, or null if it is not one to open. */
export function openableHref(href: string | null | undefined): string | null {
  const parsed = parseLinkInput(href ?? '')
  return parsed.kind === 'link' ? parsed.href : null
}

function webLink(href: string): LinkInput {
  let url: URL
  try {
    url = new URL(href)
  } catch {
    return invalid('That does not look like a web address.')
  }
  const host = url.hostname
  // "https://foo" is a valid URL but almost always a typo; localhost and IP addresses are fine.
  if (!host || (!host.includes('.') && host !== 'localhost' && !host.startsWith('['))) {
    return invalid('That does not look like a web address.')
  }
  return { kind: 'link', href }
}

function invalid(message: string): LinkInput {
  return { kind: 'invalid', message }
}
