/**
 * Minimal text edits for a plain `<input>` bound to a Y.Text.
 *
 * Replacing the whole Y.Text on every keystroke would make concurrent title edits clobber each
 * other, so a local edit is reduced to one splice (common prefix and suffix kept). Remote edits
 * arrive as a Yjs delta, through which the local caret is mapped so it does not jump.
 */

export interface Splice {
  index: number
  remove: number
  insert: string
}

/** Yjs Y.Text delta, as in `YTextEvent.delta`. */
export type TextDelta = ReadonlyArray<{ insert?: unknown; retain?: number; delete?: number }>

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff
const isLowSurrogate = (code: number) => code >= 0xdc00 && code <= 0xdfff

/** The single splice that turns `before` into `after`, or null when they are equal. */
export function diffText(before: string, after: string): Splice | null {
  if (before === after) return null
  const maxCommon = Math.min(before.length, after.length)
  let prefix = 0
  while (prefix < maxCommon && before.charCodeAt(prefix) === after.charCodeAt(prefix)) prefix++
  // Never split a surrogate pair: Yjs would store half an emoji.
  if (prefix > 0 && isHighSurrogate(before.charCodeAt(prefix - 1))) prefix--

  let suffix = 0
  const maxSuffix = maxCommon - prefix
  while (suffix < maxSuffix && before.charCodeAt(before.length - 1 - suffix) === after.charCodeAt(after.length - 1 - suffix)) {
    suffix++
  }
  if (suffix > 0 && isLowSurrogate(before.charCodeAt(before.length - suffix))) suffix--

  return {
    index: prefix,
    remove: before.length - prefix - suffix,
    insert: after.slice(prefix, after.length - suffix),
  }
}

/**
 * Where a caret at `position` ends up after `delta` is applied. Text inserted exactly at the
 * caret goes after it, so someone typing where I stand does not push my caret along; but when
 * the text up to my caret is replaced, the caret ends up after the replacement.
 */
export function mapPosition(position: number, delta: TextDelta): number {
  let oldIndex = 0
  let mapped = position
  // The last deletion reached the caret, so an insert right after it replaces text before me.
  let caretWasDeleted = false
  for (const op of delta) {
    if (op.insert !== undefined) {
      if (oldIndex < position || caretWasDeleted) {
        mapped += typeof op.insert === 'string' ? op.insert.length : 1
      }
      continue
    }
    if (oldIndex >= position) break
    if (op.retain !== undefined) {
      oldIndex += op.retain
      caretWasDeleted = false
    } else if (op.delete !== undefined) {
      mapped -= Math.min(op.delete, position - oldIndex)
      oldIndex += op.delete
      caretWasDeleted = oldIndex >= position
    }
  }
  return mapped
}
