/**
 * Typed characters go into the document through a ProseMirror transaction, not through the
 * browser's own editing (components/editor/insert-typed-characters.ts). These tests type as a
 * person does, with the keyboard, and check what that must keep: where the text lands after a
 * click or an arrow key, marks, replacing a selection, spaces, markdown shortcuts, and typing right
 * where someone else's caret is.
 */
import type { Locator, Page } from '@playwright/test'
import { test, expect } from './writers.ts'

/** Counts the browser's own text insertions in the editor (`beforeinput` with inputType insertText). */
async function countNativeInsertions(page: Page): Promise<() => Promise<number>> {
  await page.evaluate(() => {
    const counter = window as unknown as { nativeInsertions: number }
    counter.nativeInsertions = 0
    document.querySelector('.ProseMirror')!.addEventListener('beforeinput', (event) => {
      if ((event as InputEvent).inputType === 'insertText') counter.nativeInsertions++
    })
  })
  return () => page.evaluate(() => (window as unknown as { nativeInsertions: number }).nativeInsertions)
}

/**
 * Waits until the editor has read the page's caret. A key pressed within a millisecond of a caret
 * move can reach the editor before it has (as Playwright's can, a person's cannot); that is
 * ProseMirror's for shortcuts, and is fine for typing (see the first test).
 */
async function caretRead(page: Page): Promise<void> {
  await page.waitForFunction(() => {
    // biome-ignore lint/suspicious/noExplicitAny: runs in the page, without the editor's types
    const view = (document.querySelector('.ProseMirror') as unknown as { editor: any }).editor.view
    const shown = window.getSelection()
    return !!shown?.focusNode && view.posAtDOM(shown.focusNode, shown.focusOffset) === view.state.selection.head
  })
}

/** The text of each element, without other people's carets (whose labels are DOM in the text). */
const texts = (elements: Locator) =>
  elements.evaluateAll((nodes) =>
    nodes.map((node) => {
      const copy = node.cloneNode(true) as HTMLElement
      for (const caret of copy.querySelectorAll('.collaboration-carets__caret')) caret.remove()
      return copy.textContent
    }),
  )

test('typed text lands at the caret, with its marks, and the browser does not edit the page itself', async ({ writers }) => {
  const ada = await writers.open({ name: 'Ada' })
  const grace = await writers.open({ name: 'Grace' })
  const { keyboard } = ada.page

  await ada.typeAtEnd('Hello')
  await expect(ada.editor.locator('p')).toHaveText('Hello')
  // Typing on from there: the browser edits nothing. (The first key after a click or an arrow key
  // may still be the browser's, when the editor has not read the new caret yet; the steps below
  // check that such keys land right too.)
  const nativeInsertions = await countNativeInsertions(ada.page)
  await keyboard.type(' world')
  await expect(ada.editor.locator('p')).toHaveText('Hello world')
  expect(await nativeInsertions()).toBe(0)

  // An arrow key, then a character at once: the character goes where the arrow put the caret.
  for (let i = 0; i < 'world'.length; i++) await keyboard.press('ArrowLeft')
  await keyboard.type('big ')
  await expect(ada.editor.locator('p')).toHaveText('Hello big world')

  // A click at the start of the paragraph, then typing.
  const box = (await ada.editor.locator('p').boundingBox())!
  await ada.page.mouse.click(box.x + 1, box.y + box.height / 2)
  await keyboard.type('Oh, ')
  await expect(ada.editor.locator('p')).toHaveText('Oh, Hello big world')

  // Bold switched on with nothing selected applies to what is typed next, and only to it.
  await keyboard.press('End')
  await caretRead(ada.page)
  await keyboard.press('ControlOrMeta+b')
  await keyboard.type(' loud')
  await keyboard.press('ControlOrMeta+b')
  await keyboard.type(' quiet')
  await expect(ada.editor.locator('p strong')).toHaveText(' loud')
  await expect(ada.editor.locator('p')).toHaveText('Oh, Hello big world loud quiet')

  // Typing over a selection inside a paragraph replaces it.
  await keyboard.press('Shift+ArrowLeft')
  await keyboard.press('Shift+ArrowLeft')
  await keyboard.press('Shift+ArrowLeft')
  await keyboard.type('ick')
  await expect(ada.editor.locator('p')).toHaveText('Oh, Hello big world loud quick')

  // Spaces typed one after another, at the end of a paragraph, stay spaces and move the caret.
  await keyboard.type('  end')
  await expect(ada.editor.locator('p')).toHaveText('Oh, Hello big world loud quick  end')

  // A markdown shortcut still turns into structure.
  await keyboard.press('Enter')
  await keyboard.type('## Heading')
  await expect(ada.editor.locator('h2')).toHaveText('Heading')

  // (An empty paragraph follows the heading, as after any last block that is not a paragraph.)
  await expect.poll(() => texts(grace.editor.locator(':scope > p'))).toEqual(['Oh, Hello big world loud quick  end', ''])
  expect(await texts(grace.editor.locator('h2'))).toEqual(['Heading'])
  expect(await texts(grace.editor.locator('p strong'))).toEqual([' loud'])
})

test("typing where someone else's caret is puts the text in the right place on both screens", async ({ writers }) => {
  const ada = await writers.open({ name: 'Ada' })
  const grace = await writers.open({ name: 'Grace' })
  await ada.typeAtEnd('left right')
  await expect.poll(grace.text).toBe('left right')

  // Both carets between "left " and "right".
  for (const writer of [ada, grace]) {
    await writer.editor.click()
    await writer.page.keyboard.press('ControlOrMeta+End')
    for (let i = 0; i < 'right'.length; i++) await writer.page.keyboard.press('ArrowLeft')
  }
  await expect(ada.editor.locator('.collaboration-carets__caret')).toHaveCount(1)

  await ada.page.keyboard.type('middle ')
  await expect.poll(ada.text).toBe('left middle right')
  await expect.poll(grace.text).toBe('left middle right')
  // Grace's caret stayed where she left it, so her own typing follows "left ".
  await grace.page.keyboard.type('X')
  await expect.poll(ada.text).toMatch(/^left (Xmiddle |middle X)right$/)
  await expect.poll(grace.text).toBe(await ada.text())
})
