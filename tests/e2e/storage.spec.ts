import { test, expect, openWriter } from './writers.ts'
import { startChorus } from '../support/chorus-process.ts'
import { mountSmallDisk } from '../support/small-disk.ts'
import { newDocId } from '../../lib/doc-id.ts'

test('on a full disk the editor is told and keeps "Saving…"; once it is freed the notice goes and "Saved" returns', async ({ browser }) => {
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

    disk.free()
    await expect(notice).toBeHidden({ timeout: 20_000 })
    await expect(ada.save).toHaveText('Saved')
    expect(ada.errors).toEqual([])
    await ada.context.close()
  } finally {
    await chorus.cleanup()
    disk.unmount()
  }
})
