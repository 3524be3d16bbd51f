/**
 * The editor renders other people's edits incrementally (components/editor/reuse-unchanged-nodes.ts
 * keeps the nodes of untouched paragraphs). Whatever it shows must be exactly what a fresh load of
 * the same Yjs document shows: here two people make random edits, at times at the same moment, and
 * a third person who opens the document afterwards must see the very same ProseMirror document.
 */
import type { Page } from '@playwright/test'
import { test, expect } from './writers.ts'

const STEPS = 40

/** One random edit through TipTap's commands, chosen by (seed, step); returns what it did. */
function randomEdit({ seed, step }: { seed: number; step: number }): string {
  let state = (seed * 1000003 + step * 7919) >>> 0
  const random = () => {
    state = (state * 1664525 + 1013904223) >>> 0
    return state / 4294967296
  }
  // TipTap puts the editor on its DOM node. This runs in the page, without the editor's types.
  // biome-ignore-start lint/suspicious/noExplicitAny: see above
  const editor = (document.querySelector('.ProseMirror') as unknown as { editor: any }).editor
  const blocks: { pos: number; size: number }[] = []
  editor.state.doc.descendants((node: any, pos: number) => {
    if (!node.isTextblock) return true
    blocks.push({ pos, size: node.content.size })
    // biome-ignore-end lint/suspicious/noExplicitAny: see above
    return false
  })
  const anywhere = () => {
    const block = blocks[Math.floor(random() * blocks.length)]
    return block.pos + 1 + Math.floor(random() * (block.size + 1))
  }
  const words = ['alpha ', 'beta', ' gamma', 'x', 'yz ', 'the quick ', 'brown']
  const roll = random()
  const chain = editor.chain()
  let done: string
  if (roll < 0.45) {
    const at = anywhere()
    done = `insert at ${at}`
    chain.setTextSelection(at).insertContent(words[Math.floor(random() * words.length)])
  } else if (roll < 0.6) {
    const [from, to] = [anywhere(), anywhere()].sort((a, b) => a - b)
    done = `delete ${from}-${to}`
    chain.deleteRange({ from, to })
  } else if (roll < 0.75) {
    const [from, to] = [anywhere(), anywhere()].sort((a, b) => a - b)
    done = `bold ${from}-${to}`
    chain.setTextSelection({ from, to }).toggleBold()
  } else if (roll < 0.9) {
    const at = anywhere()
    done = `split at ${at}`
    chain.setTextSelection(at).splitBlock()
  } else {
    const at = anywhere()
    done = `heading at ${at}`
    chain.setTextSelection(at).toggleHeading({ level: 2 })
  }
  chain.run()
  return done
}

const documentJson = (page: Page) =>
  page.evaluate(() =>
    // biome-ignore lint/suspicious/noExplicitAny: runs in the page, without the editor's types
    JSON.stringify((document.querySelector('.ProseMirror') as unknown as { editor: any }).editor.state.doc.toJSON()),
  )

test('after random concurrent edits, everyone shows what a fresh load shows', async ({ writers }) => {
  test.setTimeout(120_000)
  const ada = await writers.open({ name: 'Ada' })
  const grace = await writers.open({ name: 'Grace' })
  await ada.typeAtEnd('The first paragraph.')
  await ada.page.keyboard.press('Enter')
  await ada.page.keyboard.type('The second one, a little longer.')
  await expect.poll(grace.text).toContain('a little longer.')

  const log: string[] = []
  for (let step = 0; step < STEPS; step++) {
    // Ada, Grace, then both at once.
    const actors = step % 3 === 2 ? [ada, grace] : [step % 2 ? grace : ada]
    const edits = await Promise.all(actors.map((writer, i) => writer.page.evaluate(randomEdit, { seed: 7 + i * 31, step })))
    log.push(`${step}: ${edits.join(' | ')}`)
    await expect
      .poll(async () => (await documentJson(ada.page)) === (await documentJson(grace.page)), {
        message: `pages diverged after:\n${log.slice(-5).join('\n')}`,
      })
      .toBe(true)
  }

  const linus = await writers.open({ name: 'Linus' })
  await expect.poll(() => documentJson(linus.page)).toBe(await documentJson(ada.page))
  expect(await documentJson(grace.page)).toBe(await documentJson(ada.page))
})

test('my caret stays where it was while someone else types in my paragraph', async ({ writers }) => {
  const ada = await writers.open({ name: 'Ada' })
  const grace = await writers.open({ name: 'Grace' })
  await ada.editor.click()
  await ada.page.keyboard.insertText('Hello world')
  await expect.poll(grace.text).toBe('Hello world')

  // Grace's caret before "world", Ada typing in front of it.
  await grace.editor.click()
  await grace.page.keyboard.press('ControlOrMeta+End')
  for (let i = 0; i < 'world'.length; i++) await grace.page.keyboard.press('ArrowLeft')
  await ada.page.keyboard.press('Home')
  await ada.page.keyboard.type('Oh, ')
  await expect.poll(grace.text).toBe('Oh, Hello world')
  await grace.page.keyboard.insertText('big ')
  await expect.poll(ada.text).toBe('Oh, Hello big world')

  // Grace's caret at the start of the paragraph, Ada typing at its end.
  await grace.page.keyboard.press('Home')
  await ada.page.keyboard.press('End')
  await ada.page.keyboard.type('!!')
  await expect.poll(grace.text).toBe('Oh, Hello big world!!')
  await grace.page.keyboard.insertText('Well. ')
  await expect.poll(ada.text).toBe('Well. Oh, Hello big world!!')
})
