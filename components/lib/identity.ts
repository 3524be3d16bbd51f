/**
 * Who this browser is in shared documents: a display name and a caret colour, chosen at random
 * on first visit and kept in localStorage. There are no accounts; this is only a label.
 */

export interface Identity {
  name: string
  /** `#rrggbb`: CollaborationCaret renders any other format transparent. */
  color: string
}

const ADJECTIVES = [
  'Amber',
  'Brave',
  'Calm',
  'Clever',
  'Cosy',
  'Curious',
  'Gentle',
  'Golden',
  'Happy',
  'Jolly',
  'Kind',
  'Lively',
  'Lucky',
  'Mellow',
  'Merry',
  'Misty',
  'Nimble',
  'Quiet',
  'Rosy',
  'Sunny',
  'Swift',
  'Tidy',
  'Velvet',
  'Witty',
]

const ANIMALS = [
  'Badger',
  'Beaver',
  'Bison',
  'Crane',
  'Falcon',
  'Ferret',
  'Finch',
  'Fox',
  'Gecko',
  'Hare',
  'Heron',
  'Ibis',
  'Koala',
  'Lemur',
  'Lynx',
  'Marten',
  'Otter',
  'Owl',
  'Panda',
  'Puffin',
  'Robin',
  'Seal',
  'Stoat',
  'Wren',
]

/** Mid-dark tones: each keeps white label text readable (contrast >= 4.5:1). */
export const PALETTE = [
  '#c2410c',
  '#b45309',
  '#4d7c0f',
  '#047857',
  '#0f766e',
  '#0e7490',
  '#1d4ed8',
  '#4338ca',
  '#6d28d9',
  '#a21caf',
  '#be185d',
  '#b91c1c',
]

export const MAX_NAME_LENGTH = 40

const STORAGE_KEY = 'chorus:identity'
const COLOR_PATTERN = /^#[0-9a-f]{6}$/i

function pick<T>(items: readonly T[]): T {
  const index = globalThis.crypto.getRandomValues(new Uint32Array(1))[0] % items.length
  return items[index]
}

export function randomIdentity(): Identity {
  return { name: `${pick(ADJECTIVES)} ${pick(ANIMALS)}`, color: pick(PALETTE) }
}

/** The name others see: what the person typed, or a neutral stand-in while the field is empty. */
export function displayName(name: string): string {
  return name.trim().slice(0, MAX_NAME_LENGTH) || 'Anonymous'
}

/** Up to two initials, for avatars: "Amber Otter" → "AO", "cher" → "C". */
export function initials(name: string): string {
  const words = displayName(name).split(/\s+/)
  const letters = words.length > 1 ? [words[0], words[words.length - 1]] : [words[0]]
  return letters
    .map((word) => Array.from(word)[0] ?? '')
    .join('')
    .toUpperCase()
}

export function loadIdentity(storage: Storage = window.localStorage): Identity {
  try {
    const value = JSON.parse(storage.getItem(STORAGE_KEY) ?? 'null') as Partial<Identity> | null
    if (value && typeof value.name === 'string' && COLOR_PATTERN.test(value.color ?? '')) {
      return { name: value.name.slice(0, MAX_NAME_LENGTH), color: value.color as string }
    }
  } catch {
    // Corrupt or blocked storage: start over with a fresh identity below.
  }
  const identity = randomIdentity()
  saveIdentity(identity, storage)
  return identity
}

export function saveIdentity(identity: Identity, storage: Storage = window.localStorage): void {
  try {
    storage.setItem(STORAGE_KEY, JSON.stringify(identity))
  } catch {
    // Storage full or disabled: the name still works for this page, it just won't persist.
  }
}

const AUTHOR_ID_KEY = 'chorus:author-id'
const AUTHOR_ID_PATTERN = /^[A-Za-z0-9_-]{16,64}$/

/**
 * A random id for this browser, the same in all its tabs, so that the others see one person with
 * two tabs as one person. Kept apart from the identity, which tests and older pages overwrite
 * whole. Where storage is blocked it lives as long as the page: one tab then counts as one person.
 */
export function loadAuthorId(storage: Storage | null = browserStorage()): string {
  try {
    const stored = storage?.getItem(AUTHOR_ID_KEY)
    if (stored && AUTHOR_ID_PATTERN.test(stored)) return stored
  } catch {
    // Blocked storage: a fresh id below, for this page only.
  }
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(16))
  const id = Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('')
  try {
    storage?.setItem(AUTHOR_ID_KEY, id)
  } catch {
    // As above.
  }
  return id
}

function browserStorage(): Storage | null {
  try {
    return window.localStorage
  } catch {
    return null
  }
}
