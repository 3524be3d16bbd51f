import { randomBytes } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import * as Y from 'yjs'
import { test, expect, openWriter } from './writers.ts'
import { startChorus } from '../support/chorus-process.ts'
import { mountSmallDisk } from '../support/small-disk.ts'
import { newDocId } from '../../lib/doc-id.ts'
import { LevelDbStore } from '../../server/storage/leveldb-store.ts'

test('on a full disk the editor is told and keeps "Saving…", readiness is 503; once it is freed the notice goes, "Saved" returns and readiness recovers by itself', async ({
  browser,
}) => {
  const disk = mountSmallDisk()
  test.skip('skip' in disk, 'skip' in disk ? disk.skip : '')
  if ('skip' in disk) return
  const chorus = await startChorus({ entry: 'app', dataDir: disk.dir })
  try {
    const ada = await openWriter(browser, chorus.url, { name: 'Ada', docId: newDocId() })
    await ada.editor.click()
    await ada.page.keyboard.insertText('Written before the disk filled. ')
    await expect(ada.save).toHaveText('Saved')

    disk.fill()
    const notice = ada.page.getByRole('alert').filter({ hasText: 'cannot save right now' })
    // The log file's last page still has room for a little: type until a write fails.
    await expect(async () => {
      await ada.page.keyboard.insertText('Written while the disk is full. '.repeat(20))
      await expect(notice).toBeVisible({ timeout: 500 })
    }).toPass({ timeout: 20_000 })
    await expect(ada.save).toHaveText('Saving…')
    const readiness = async () => {
      const response = await fetch(`${chorus.url}/readyz`)
      return { status: response.status, body: await response.json() }
    }
    expect(await readiness()).toEqual({ status: 503, body: { status: 'unavailable', reason: 'storage-failing' } })

    disk.free()
    await expect(notice).toBeHidden({ timeout: 20_000 })
    await expect(ada.save).toHaveText('Saved')
    // Nobody restarted anything: the store reopened itself once writes succeeded again.
    await expect.poll(async () => (await readiness()).status, { timeout: 10_000 }).toBe(200)
    expect(ada.errors).toEqual([])
    await ada.context.close()
  } finally {
    await chorus.cleanup()
    disk.unmount()
  }
})

test('a document whose stored data is damaged shows why, and the page stops trying', async ({ browser }) => {
  const temp = mkdtempSync(path.join(os.tmpdir(), 'chorus-e2e-damage-'))
  const dataDir = path.join(temp, 'data')
  const docId = newDocId()
  // A stored record with one bit flipped in a table file, where LevelDB reads without checking.
  const rotten = randomBytes(300).toString('base64')
  const store = await LevelDbStore.open(dataDir)
  const ydoc = new Y.Doc()
  ydoc.getXmlFragment('default').insert(0, [new Y.XmlText(rotten)])
  await store.appendRecord(docId, 0, [Y.encodeStateAsUpdate(ydoc)])
  await store.close()
  await (await LevelDbStore.open(dataDir)).close()
  const table = path.join(dataDir, readdirSync(dataDir).find((name) => name.endsWith('.ldb'))!)
  const bytes = readFileSync(table)
  const at = bytes.indexOf(Buffer.from(rotten.slice(100, 140)))
  expect(at).toBeGreaterThan(0)
  bytes[at + 5] ^= 0x01
  writeFileSync(table, bytes)

  const chorus = await startChorus({ entry: 'app', dataDir })
  try {
    const context = await browser.newContext({ baseURL: chorus.url })
    const page = await context.newPage()
    await page.goto(`/d/${docId}`)
    await expect(page.getByRole('alert').filter({ hasText: 'damaged' })).toBeVisible()
    await expect(page.getByTestId('connection-status')).toHaveText('Disconnected')
    await context.close()
  } finally {
    await chorus.cleanup()
    rmSync(temp, { recursive: true, force: true })
  }
})
