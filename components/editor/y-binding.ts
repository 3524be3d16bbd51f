import type { EditorState } from '@tiptap/pm/state'
import { type ProsemirrorBinding, ySyncPluginKey } from '@tiptap/y-tiptap'

/** The y-tiptap binding between this editor state and its Yjs fragment, once the sync plugin has made it. */
export function bindingOf(state: EditorState): ProsemirrorBinding | undefined {
  return ySyncPluginKey.getState(state)?.binding as ProsemirrorBinding | undefined
}

/**
 * Patches a binding once (the patches run from a plugin view, which a reconfigured editor makes
 * again). The patches use y-tiptap internals: should a release rename one of `internals`, the
 * binding is left as it is.
 */
export function patchBindingOnce<T>(
  patched: WeakMap<ProsemirrorBinding, T>,
  binding: ProsemirrorBinding | undefined,
  internals: readonly (keyof ProsemirrorBinding)[],
  patch: (binding: ProsemirrorBinding) => T,
): void {
  if (!binding || patched.has(binding)) return
  if (!internals.every((name) => typeof binding[name] === 'function')) return
  patched.set(binding, patch(binding))
}
