/**
 * Large pastes: the work TipTap does per pasted step must not grow with the square of the paste.
 * The cost is counted, not timed (timings on a shared machine would make a flaky test): every
 * `Mapping.invert()` call, which TipTap's getChangedRanges makes for each step of a transaction.
 */
import { test, expect } from './writers.ts'

const ADDRESSES = 150

// Root cause: autolink and TipTap's Delete extension ran getChangedRanges over the paste and the
// paste rules' transaction (one step per address), inverting the whole mapping for each step.
test('a paste with many web addresses links each once, without work per pair of steps', async ({ writers }) => {
  const ada = await writers.open({ name: 'Ada' })
  const grace = await writers.open({ name: 'Grace' })
  await ada.editor.click()

  const lines = Array.from({ length: ADDRESSES }, (_, i) => `Line ${i} points to https://example.org/page/${i} and goes on.`)
  const inverts = await ada.page.evaluate(async (text) => {
    // TipTap puts the editor on its DOM node; the Mapping class is reached through a transaction.
    // biome-ignore lint/suspicious/noExplicitAny: runs in the page, without the editor's types
    const dom = document.querySelector('.ProseMirror') as unknown as { editor: any }
    const mappingProto = Object.getPrototypeOf(dom.editor.state.tr.mapping)
    const invert = mappingProto.invert
    let calls = 0
    mappingProto.invert = function (this: unknown) {
      calls++
      return invert.call(this)
    }
    try {
      const data = new DataTransfer()
      data.setData('text/plain', text)
      ;(dom as unknown as HTMLElement).dispatchEvent(
        new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }),
      )
      // The Delete extension does its part in a timer after the transaction.
      await new Promise((resolve) => setTimeout(resolve, 200))
    } finally {
      mappingProto.invert = invert
    }
    return calls
  }, lines.join('\n'))

  // The paste rule still links every address, once, in both pages.
  for (const writer of [ada, grace]) {
    await expect(writer.editor.locator('a[href^="https://example.org/page/"]')).toHaveCount(ADDRESSES)
  }
  await expect.poll(grace.text).toBe(lines.join(''))
  // Without the fix: two inversions per step for autolink and two for the Delete extension (~600);
  // without either half of it, ~300.
  expect(inverts).toBeLessThan(20)
  console.log(`Mapping.invert() calls during the paste: ${inverts}`)

  // Autolink still does its job for typing: an address followed by a space becomes a link.
  await ada.typeAtEnd(' see https://example.com/typed ')
  await expect(ada.editor.locator('a[href="https://example.com/typed"]')).toHaveCount(1)
  await expect(grace.editor.locator('a[href="https://example.com/typed"]')).toHaveCount(1)
})
