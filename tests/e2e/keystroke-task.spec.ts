/**
 * What runs inside the task of a keystroke, before the browser can draw the character: only what
 * must. Work that can wait for a task of its own is checked here by what it calls, not by timing.
 */
import { test, expect } from './writers.ts'

// Root cause: BrowserCopy opened its IndexedDB transaction inside the edit's own task (from the
// Y.Doc's update event), delaying the frame that shows the character.
test("an edit's copy in this browser is written after the edit's own task", async ({ writers }) => {
  const ada = await writers.open({ name: 'Ada' })
  await ada.typeAtEnd('First words.')
  await expect(ada.save).toHaveText('Saved')

  const calls = await ada.page.evaluate(async () => {
    const proto = IDBDatabase.prototype
    const transaction = proto.transaction
    let count = 0
    proto.transaction = function (this: IDBDatabase, ...args: Parameters<typeof transaction>) {
      count++
      return transaction.apply(this, args)
    }
    try {
      // TipTap puts the editor on its DOM node; the command dispatches synchronously.
      const dom = document.querySelector('.ProseMirror') as unknown as { editor: any }
      dom.editor.chain().focus('end').insertContent(' More.').run()
      const during = count
      await new Promise((resolve) => setTimeout(resolve, 200))
      return { during, after: count }
    } finally {
      proto.transaction = transaction
    }
  })
  expect(calls.during).toBe(0)
  expect(calls.after).toBeGreaterThan(0)

  // That the deferred write holds every edit (a reload offline shows them) is persistence.spec.ts's
  // 'edits made offline survive a reload and reach the server later'.
})

// Root cause: ProseMirror left a typed character to Chromium's own editing, which lays out the
// whole editable and canonicalizes the selection inside the keystroke's task (~4.5 ms at 1,173
// paragraphs), and only then read the change back from the DOM.
test('a typed character goes in through ProseMirror, over a selection too, and reaches the others', async ({ writers }) => {
  const ada = await writers.open({ name: 'Ada' })
  const grace = await writers.open({ name: 'Grace' })
  await ada.typeAtEnd('Hello wonderful world')
  await expect.poll(grace.text).toBe('Hello wonderful world')

  // The browser announces each edit it is about to make itself with a beforeinput event.
  await ada.page.evaluate(() => {
    const w = window as unknown as { nativeEdits: string[] }
    w.nativeEdits = []
    document.querySelector('.ProseMirror')!.addEventListener('beforeinput', (event) => w.nativeEdits.push((event as InputEvent).inputType))
    // Select "wonderful" (positions count from the paragraph's start at 1).
    const dom = document.querySelector('.ProseMirror') as unknown as { editor: any }
    dom.editor.commands.setTextSelection({ from: 7, to: 16 })
  })
  await ada.page.keyboard.type('big')
  await ada.page.keyboard.press('End')
  await ada.page.keyboard.type('!')
  expect(await ada.page.evaluate(() => (window as unknown as { nativeEdits: string[] }).nativeEdits)).toEqual([])
  await expect.poll(ada.text).toBe('Hello big world!')
  await expect.poll(grace.text).toBe('Hello big world!')
})
