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
