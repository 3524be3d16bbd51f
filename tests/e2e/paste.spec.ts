import type { Page } from '@playwright/test'
import { test, expect, type Writer } from './writers.ts'

/** Pastes into the focused editor as a browser does: a paste event carrying a DataTransfer. */
async function paste(page: Page, data: Record<string, string>) {
  await page.locator('.ProseMirror').evaluate((editor, entries) => {
    const transfer = new DataTransfer()
    for (const [type, value] of Object.entries(entries)) transfer.setData(type, value)
    editor.dispatchEvent(new ClipboardEvent('paste', { clipboardData: transfer, bubbles: true, cancelable: true }))
  }, data)
}

/** Each paragraph's text, tabs and all (toHaveText would fold them into spaces). */
const paragraphs = (writer: Writer) =>
  writer.editor.locator('p').evaluateAll((nodes) =>
    nodes.map((node) => {
      const copy = node.cloneNode(true) as HTMLElement
      for (const caret of copy.querySelectorAll('.collaboration-carets__caret')) caret.remove()
      return copy.textContent
    }),
  )

const SHEET = `
  <meta charset="utf-8"><p>Before the table</p>
  <table>
    <caption>Quarterly figures</caption>
    <thead><tr><th>Name</th><th>Q1</th><th>Q2</th></tr></thead>
    <tbody>
      <tr><td><b>Apples</b></td><td>10</td><td><p>12</p><p>(est.)</p></td></tr>
      <tr><td><a href="https://example.com/pears">Pears</a></td><td>7</td><td><img src="https://example.com/chart.png" alt="chart"></td></tr>
      <tr><td></td><td></td><td></td></tr>
    </tbody>
  </table>
  <p>After <img src="data:image/png;base64,iVBORw0KGgo=" alt="logo"> the table</p>`

// Root cause: ProseMirror's paste has no table or image node to map to: cells ran into one line and images vanished silently.
test('a pasted table keeps a line per row with tab-separated cells, and dropped images are announced', async ({ writers }) => {
  const ada = await writers.open({ name: 'Ada' })
  const grace = await writers.open({ name: 'Grace' })
  await ada.editor.click()
  await paste(ada.page, { 'text/html': SHEET, 'text/plain': 'Name\tQ1\tQ2' })

  const expected = [
    'Before the table',
    'Quarterly figures',
    'Name\tQ1\tQ2',
    'Apples\t10\t12 (est.)',
    // (ProseMirror drops trailing whitespace, so an empty last cell leaves no tab.)
    'Pears\t7',
    'After the table',
  ]
  await expect.poll(() => paragraphs(ada)).toEqual(expected)
  // Formatting inside cells is kept.
  await expect(ada.editor.locator('strong')).toHaveText('Apples')
  await expect(ada.editor.locator('a[href="https://example.com/pears"]')).toHaveText('Pears')
  await expect(ada.editor.locator('img')).toHaveCount(0)

  const notice = ada.page.locator('.notice[data-code="images-not-pasted"]')
  await expect(notice).toHaveText("Images aren't supported yet and were not pasted.")
  await expect(notice).toHaveAttribute('role', 'status')

  // The others get the same text; the notice is Ada's alone.
  await expect.poll(() => paragraphs(grace)).toEqual(expected)
  await expect(grace.page.locator('.notice')).toHaveCount(0)
})

test('a paste without tables or images says nothing, and a picture alone is announced', async ({ writers }) => {
  const ada = await writers.open({ name: 'Ada' })
  await ada.editor.click()
  await paste(ada.page, { 'text/html': '<p>Just <em>words</em></p>', 'text/plain': 'Just words' })
  await expect.poll(() => paragraphs(ada)).toEqual(['Just words'])
  await expect(ada.page.locator('.notice')).toHaveCount(0)

  // A screenshot on the clipboard: a file, no text.
  await ada.editor.evaluate((editor) => {
    const transfer = new DataTransfer()
    transfer.items.add(new File([new Uint8Array([137, 80, 78, 71])], 'shot.png', { type: 'image/png' }))
    editor.dispatchEvent(new ClipboardEvent('paste', { clipboardData: transfer, bubbles: true, cancelable: true }))
  })
  await expect(ada.page.locator('.notice[data-code="images-not-pasted"]')).toBeVisible()
  await expect.poll(() => paragraphs(ada)).toEqual(['Just words'])
})
