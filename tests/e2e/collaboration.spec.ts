import { test, expect, type Writer } from './writers.ts'

test('typing flows both ways', async ({ writers }) => {
  const ada = await writers.open({ name: 'Ada' })
  const grace = await writers.open({ name: 'Grace' })

  await ada.typeAtEnd('Hello from Ada.')
  await expect.poll(grace.text).toBe('Hello from Ada.')

  await grace.typeAtEnd(' Hi from Grace.')
  await expect.poll(ada.text).toBe('Hello from Ada. Hi from Grace.')
  await expect.poll(grace.text).toBe('Hello from Ada. Hi from Grace.')
})

test("each sees the other's caret, labelled with their name and colour", async ({ writers }) => {
  const ada = await writers.open({ name: 'Ada' })
  const grace = await writers.open({ name: 'Grace' })

  await ada.typeAtEnd('Ada was here')
  await grace.typeAtEnd(', Grace too')

  await expect(ada.page.locator('.collaboration-carets__label')).toHaveText('Grace')
  await expect(grace.page.locator('.collaboration-carets__label')).toHaveText('Ada')

  // The label wears the colour Grace picked up, which her own name field shows as a swatch.
  const graceColor = await grace.page
    .locator('.name-field__swatch')
    .evaluate((swatch) => getComputedStyle(swatch).backgroundColor)
  await expect(ada.page.locator('.collaboration-carets__label')).toHaveCSS('background-color', graceColor)

  // A rename shows to the other at once. While Grace types her name she is out of the editor,
  // so her caret is gone; it comes back under the new name.
  await grace.page.getByLabel('Your name').fill('Grace Hopper')
  await expect(ada.page.getByRole('list', { name: 'People here' })).toContainText('Grace Hopper')
  await expect(ada.page.locator('.collaboration-carets__caret')).toHaveCount(0)
  await grace.editor.click()
  await expect(ada.page.locator('.collaboration-carets__label')).toHaveText('Grace Hopper')
})

test('the presence list shows everyone, me marked, and drops people who leave', async ({ writers }) => {
  const ada = await writers.open({ name: 'Ada' })
  const grace = await writers.open({ name: 'Grace' })

  for (const [me, other] of [
    [ada, grace],
    [grace, ada],
  ]) {
    const people = me.page.getByRole('list', { name: 'People here' }).getByRole('listitem')
    await expect(people).toHaveCount(2)
    await expect(people.filter({ hasText: `${me.name} (you)` })).toHaveCount(1)
    await expect(people.filter({ hasText: other.name })).not.toContainText('(you)')
    await expect(people.filter({ hasText: other.name })).toContainText(other.name[0])
  }

  await grace.context.close()
  await expect(ada.page.getByRole('list', { name: 'People here' }).getByRole('listitem')).toHaveCount(1)
})

// Root cause: the list had one entry per awareness client, and each tab is a client of its own.
test('one person with two tabs is listed once, with a caret per tab', async ({ writers }) => {
  const ada = await writers.open({ name: 'Ada' })
  const grace = await writers.open({ name: 'Grace' })
  const adaAgain = await ada.context.newPage()
  await adaAgain.goto(`/d/${writers.docId}`)
  await expect(adaAgain.getByTestId('connection-status')).toHaveText('Online')

  await ada.typeAtEnd('one')
  await adaAgain.locator('.ProseMirror').click()
  await adaAgain.keyboard.press('ControlOrMeta+Home')
  await expect(grace.page.locator('.collaboration-carets__label')).toHaveText(['Ada', 'Ada'])

  const list = (page: typeof grace.page) => page.getByRole('list', { name: 'People here' }).getByRole('listitem')
  await expect(list(grace.page)).toHaveText([/Grace \(you\)$/, /^AAda$/])
  await expect(list(adaAgain)).toHaveText([/Ada \(you\)$/, /Grace$/])
  await expect(list(ada.page)).toHaveText([/Ada \(you\)$/, /Grace$/])

  // Closing one tab leaves her listed, through the other.
  await adaAgain.close()
  await expect(grace.page.locator('.collaboration-carets__label')).toHaveCount(1)
  await expect(list(grace.page)).toHaveCount(2)
})

test('two people who chose the same colour are shown in different ones, alike on both screens', async ({ writers }) => {
  const ada = await writers.open({ name: 'Ada', color: '#1d4ed8' })
  const grace = await writers.open({ name: 'Grace', color: '#1d4ed8' })
  const shown = (writer: Writer) =>
    writer.page
      .getByRole('list', { name: 'People here' })
      .locator('.avatar')
      .evaluateAll((avatars) =>
        avatars
          .map((avatar) => `${avatar.parentElement!.title.split(' (')[0]}=${(avatar as HTMLElement).style.backgroundColor}`)
          .sort(),
      )
  await expect.poll(async () => new Set((await shown(ada)).map((entry) => entry.split('=')[1])).size).toBe(2)
  await expect.poll(() => shown(grace)).toEqual(await shown(ada))

  // The caret Grace sees for Ada is in the colour both presence lists give Ada.
  await ada.editor.click()
  await ada.page.keyboard.type('hi')
  const adaColor = (await shown(grace)).find((entry) => entry.startsWith('Ada='))!.split('=')[1]
  await expect(grace.editor.locator('.collaboration-carets__caret')).toHaveCSS('border-left-color', adaColor)
})

test('markdown shortcuts arrive as structure on the other side', async ({ writers }) => {
  const ada = await writers.open({ name: 'Ada' })
  const grace = await writers.open({ name: 'Grace' })

  await ada.editor.click()
  const { keyboard } = ada.page
  await keyboard.type('# Plan')
  await keyboard.press('Enter')
  await keyboard.type('- first')
  await keyboard.press('Enter')
  await keyboard.type('second')
  await keyboard.press('Enter')
  await keyboard.press('Enter')
  await keyboard.type('1. numbered')
  await keyboard.press('Enter')
  await keyboard.press('Enter')
  await keyboard.type('> quoted')
  await keyboard.press('Enter')
  await keyboard.press('Enter')
  // The fence needs a space (or a language and a space) after it to turn into a code block.
  await keyboard.type('``` ')
  await keyboard.type('let x = 1')
  // Ada's toolbar reflects where her cursor is.
  await expect(ada.page.getByRole('button', { name: 'Code block' })).toHaveAttribute('aria-pressed', 'true')
  await expect(ada.page.getByRole('button', { name: 'Bold' })).toHaveAttribute('aria-pressed', 'false')
  // Leaving the editor takes Ada's caret (and its name label) out of Grace's text.
  await ada.page.getByLabel('Document title').focus()

  const body = grace.editor
  await expect(body.locator('.collaboration-carets__caret')).toHaveCount(0)
  await expect(body.locator('h1')).toHaveText('Plan')
  await expect(body.locator('ul > li')).toHaveText(['first', 'second'])
  await expect(body.locator('ol > li')).toHaveText(['numbered'])
  await expect(body.locator('blockquote')).toHaveText('quoted')
  await expect(body.locator('pre code')).toHaveText('let x = 1')
})

test('toolbar buttons format text and show their state', async ({ writers }) => {
  const ada = await writers.open({ name: 'Ada' })
  const grace = await writers.open({ name: 'Grace' })
  const toolbar = ada.page.getByRole('toolbar', { name: 'Formatting' })

  await ada.editor.click()
  await toolbar.getByRole('button', { name: 'Heading 2' }).click()
  await ada.page.keyboard.type('Section')
  await expect(toolbar.getByRole('button', { name: 'Heading 2' })).toHaveAttribute('aria-pressed', 'true')
  await ada.page.keyboard.press('Enter')
  await toolbar.getByRole('button', { name: 'Bold' }).click()
  await ada.page.keyboard.type('loud')
  await expect(toolbar.getByRole('button', { name: 'Bold' })).toHaveAttribute('aria-pressed', 'true')
  await toolbar.getByRole('button', { name: 'Horizontal rule' }).click()
  await ada.page.getByLabel('Document title').focus()
  await expect(grace.editor.locator('.collaboration-carets__caret')).toHaveCount(0)

  await expect(grace.editor.locator('h2')).toHaveText('Section')
  await expect(grace.editor.locator('strong')).toHaveText('loud')
  await expect(grace.editor.locator('hr')).toHaveCount(1)
})

test('a link is on every screen exactly as its author left it', async ({ writers }) => {
  const ada = await writers.open({ name: 'Ada' })
  const grace = await writers.open({ name: 'Grace' })

  await ada.editor.click()
  await ada.page.keyboard.type('see example.com ')
  // Ada's editor turns the address into a link as she types it; Grace gets the link from her.
  await expect(grace.editor.locator('a[href="http://example.com"]')).toHaveText('example.com')

  // Ada takes the link away: what a "remove link" button would run.
  await ada.page.evaluate(() => {
    const dom = document.querySelector('.ProseMirror') as HTMLElement & {
      editor: { chain(): { selectAll(): { unsetLink(): { run(): boolean } } } }
    }
    dom.editor.chain().selectAll().unsetLink().run()
  })
  await expect(ada.editor.locator('a')).toHaveCount(0)
  // Grace's editor must not make a link of its own out of Ada's change.
  await expect.poll(grace.text).toBe('see example.com ')
  await expect(grace.editor.locator('a')).toHaveCount(0)
})

test('undo takes back only my own edit', async ({ writers }) => {
  const ada = await writers.open({ name: 'Ada' })
  const grace = await writers.open({ name: 'Grace' })

  await ada.editor.click()
  // insertText is one input event, so it is one undo step whatever the machine's speed.
  await ada.page.keyboard.insertText('alpha')
  await expect.poll(grace.text).toBe('alpha')
  await grace.editor.click()
  await grace.page.keyboard.press('ControlOrMeta+End')
  await grace.page.keyboard.press('Enter')
  await grace.page.keyboard.insertText('beta')
  await expect.poll(ada.text).toContain('beta')

  await ada.page.getByRole('button', { name: 'Undo' }).click()
  for (const writer of [ada, grace]) {
    await expect.poll(writer.text).not.toContain('alpha')
    await expect.poll(writer.text).toContain('beta')
  }

  await ada.page.getByRole('button', { name: 'Redo' }).click()
  await expect.poll(grace.text).toContain('alpha')
  await expect.poll(grace.text).toContain('beta')
})

test('the title is shared live, shown in the tab, and keeps my caret still', async ({ writers }) => {
  const ada = await writers.open({ name: 'Ada' })
  const grace = await writers.open({ name: 'Grace' })
  const adaTitle = ada.page.getByLabel('Document title')
  const graceTitle = grace.page.getByLabel('Document title')
  await expect(adaTitle).toHaveAttribute('placeholder', 'Untitled')

  await adaTitle.click()
  await ada.page.keyboard.type('Roadmap')
  await expect(graceTitle).toHaveValue('Roadmap')
  await expect(grace.page).toHaveTitle('Roadmap · Chorus')

  // Ada's caret sits after "Road"; Grace puts a word in front. Ada's caret moves with the text.
  await ada.page.keyboard.press('End')
  for (let i = 0; i < 3; i++) await ada.page.keyboard.press('ArrowLeft')
  await graceTitle.click()
  await grace.page.keyboard.press('Home')
  await grace.page.keyboard.type('Q3 ')
  await expect(adaTitle).toHaveValue('Q3 Roadmap')
  await ada.page.keyboard.type('-')
  await expect(adaTitle).toHaveValue('Q3 Road-map')
  await expect(graceTitle).toHaveValue('Q3 Road-map')
  await expect(ada.page).toHaveTitle('Q3 Road-map · Chorus')
})

test('an empty document shows a placeholder', async ({ writers }) => {
  const ada = await writers.open({ name: 'Ada' })
  await expect(ada.editor.locator('p.is-editor-empty')).toHaveAttribute('data-placeholder', 'Start writing…')
  await ada.typeAtEnd('x')
  await expect(ada.editor.locator('p.is-editor-empty')).toHaveCount(0)
})
