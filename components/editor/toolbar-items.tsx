import type { ReactNode } from 'react'
import type { Editor } from '@tiptap/react'
import { requestLinkEditor } from './link-editing'

/**
 * The formatting toolbar's buttons. A `toggle` shows whether it applies at the cursor
 * (aria-pressed); the others (rule, undo, redo) are plain actions.
 */
export interface ToolbarItem {
  label: string
  shortcut?: string
  icon: ReactNode
  toggle?: (editor: Editor) => boolean
  canRun: (editor: Editor) => boolean
  run: (editor: Editor) => void
  /** Starts a new visual group (a thin divider before it). */
  groupStart?: boolean
}

const svg = (path: ReactNode) => (
  <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" focusable="false">
    <g fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round">
      {path}
    </g>
  </svg>
)

const glyph = (text: string, className?: string) => (
  <span className={`toolbar__glyph ${className ?? ''}`} aria-hidden="true">
    {text}
  </span>
)

export const TOOLBAR_ITEMS: readonly ToolbarItem[] = [
  {
    label: 'Bold',
    shortcut: 'Mod+B',
    icon: glyph('B', 'toolbar__glyph--bold'),
    toggle: (e) => e.isActive('bold'),
    canRun: (e) => e.can().toggleBold(),
    run: (e) => e.chain().focus().toggleBold().run(),
  },
  {
    label: 'Italic',
    shortcut: 'Mod+I',
    icon: glyph('I', 'toolbar__glyph--italic'),
    toggle: (e) => e.isActive('italic'),
    canRun: (e) => e.can().toggleItalic(),
    run: (e) => e.chain().focus().toggleItalic().run(),
  },
  {
    label: 'Underline',
    shortcut: 'Mod+U',
    icon: glyph('U', 'toolbar__glyph--underline'),
    toggle: (e) => e.isActive('underline'),
    canRun: (e) => e.can().toggleUnderline(),
    run: (e) => e.chain().focus().toggleUnderline().run(),
  },
  {
    label: 'Strike',
    shortcut: 'Mod+Shift+S',
    icon: glyph('S', 'toolbar__glyph--strike'),
    toggle: (e) => e.isActive('strike'),
    canRun: (e) => e.can().toggleStrike(),
    run: (e) => e.chain().focus().toggleStrike().run(),
  },
  {
    label: 'Code',
    shortcut: 'Mod+E',
    icon: glyph('</>', 'toolbar__glyph--mono'),
    toggle: (e) => e.isActive('code'),
    canRun: (e) => e.can().toggleCode(),
    run: (e) => e.chain().focus().toggleCode().run(),
  },
  {
    label: 'Link',
    shortcut: 'Mod+K',
    icon: svg(
      <>
        <path d="M10 14a4.5 4.5 0 006.4 0l3-3a4.5 4.5 0 00-6.4-6.4l-1.2 1.2" />
        <path d="M14 10a4.5 4.5 0 00-6.4 0l-3 3a4.5 4.5 0 006.4 6.4l1.2-1.2" />
      </>,
    ),
    toggle: (e) => e.isActive('link'),
    // A link can be added anywhere text can: with nothing selected, the address becomes the text.
    canRun: (e) => e.isEditable,
    run: (e) => requestLinkEditor(e),
  },
  ...([1, 2, 3] as const).map(
    (level): ToolbarItem => ({
      label: `Heading ${level}`,
      shortcut: `Mod+Alt+${level}`,
      icon: glyph(`H${level}`),
      toggle: (e) => e.isActive('heading', { level }),
      canRun: (e) => e.can().toggleHeading({ level }),
      run: (e) => e.chain().focus().toggleHeading({ level }).run(),
      groupStart: level === 1,
    }),
  ),
  {
    label: 'Bullet list',
    shortcut: 'Mod+Shift+8',
    icon: svg(
      <>
        <path d="M9 6h11M9 12h11M9 18h11" />
        <circle cx="4.5" cy="6" r="1" fill="currentColor" />
        <circle cx="4.5" cy="12" r="1" fill="currentColor" />
        <circle cx="4.5" cy="18" r="1" fill="currentColor" />
      </>,
    ),
    toggle: (e) => e.isActive('bulletList'),
    canRun: (e) => e.can().toggleBulletList(),
    run: (e) => e.chain().focus().toggleBulletList().run(),
    groupStart: true,
  },
  {
    label: 'Ordered list',
    shortcut: 'Mod+Shift+7',
    icon: svg(
      <>
        <path d="M10 6h10M10 12h10M10 18h10" />
        <path d="M4 5l1-1v4M3.5 14.5c.3-.6.9-1 1.5-1 .8 0 1.4.5 1.4 1.2 0 1.1-2.9 1.6-2.9 3.3h3" strokeWidth="1.5" />
      </>,
    ),
    toggle: (e) => e.isActive('orderedList'),
    canRun: (e) => e.can().toggleOrderedList(),
    run: (e) => e.chain().focus().toggleOrderedList().run(),
  },
  {
    label: 'Blockquote',
    shortcut: 'Mod+Shift+B',
    icon: svg(<path d="M5 6v12M10 8h9M10 12h9M10 16h6" />),
    toggle: (e) => e.isActive('blockquote'),
    canRun: (e) => e.can().toggleBlockquote(),
    run: (e) => e.chain().focus().toggleBlockquote().run(),
  },
  {
    label: 'Code block',
    shortcut: 'Mod+Alt+C',
    icon: svg(
      <>
        <rect x="3" y="4" width="18" height="16" rx="2" />
        <path d="M10 10l-2 2 2 2M14 10l2 2-2 2" />
      </>,
    ),
    toggle: (e) => e.isActive('codeBlock'),
    canRun: (e) => e.can().toggleCodeBlock(),
    run: (e) => e.chain().focus().toggleCodeBlock().run(),
  },
  {
    label: 'Horizontal rule',
    icon: svg(<path d="M4 12h16" />),
    canRun: (e) => e.can().setHorizontalRule(),
    run: (e) => e.chain().focus().setHorizontalRule().run(),
  },
  {
    label: 'Undo',
    shortcut: 'Mod+Z',
    icon: svg(<path d="M9 14L4 9l5-5M4 9h10a6 6 0 010 12h-3" />),
    canRun: (e) => e.can().undo(),
    run: (e) => e.chain().focus().undo().run(),
    groupStart: true,
  },
  {
    label: 'Redo',
    shortcut: 'Mod+Shift+Z',
    icon: svg(<path d="M15 14l5-5-5-5M20 9H10a6 6 0 000 12h3" />),
    canRun: (e) => e.can().redo(),
    run: (e) => e.chain().focus().redo().run(),
  },
]

/** "Mod+Shift+Z" as this platform writes it, for tooltips. */
export function formatShortcut(shortcut: string, isMac: boolean): string {
  return shortcut
    .split('+')
    .map((key) => {
      if (key === 'Mod') return isMac ? '⌘' : 'Ctrl'
      if (key === 'Alt') return isMac ? '⌥' : 'Alt'
      if (key === 'Shift') return isMac ? '⇧' : 'Shift'
      return key
    })
    .join(isMac ? '' : '+')
}
