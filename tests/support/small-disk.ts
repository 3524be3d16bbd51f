/**
 * A real small disk for full-disk tests: a 16 MiB tmpfs mounted on a temporary folder (the tests
 * run as root). `fill()` takes all its free space with a filler file, `free()` deletes it.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, openSync, closeSync, rmSync, unlinkSync, writeSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

export interface SmallDisk {
  readonly dir: string
  /** Writes a filler file until the disk refuses more; returns the bytes written. */
  fill(): number
  free(): void
  unmount(): void
}

/** Mounts a tmpfs, or returns the reason it cannot (not root, no mount permission). */
export function mountSmallDisk(sizeMiB = 16): SmallDisk | { skip: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'chorus-small-disk-'))
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m`, 'tmpfs', dir], { stdio: 'pipe' })
  } catch (error) {
    rmSync(dir, { recursive: true, force: true })
    return {
      skip: `cannot mount a ${sizeMiB} MiB tmpfs (needs root and mount permission): ${(error as Error).message.split('\n')[0]}`,
    }
  }
  const filler = path.join(dir, 'filler')
  return {
    dir: path.join(dir, 'data'),
    fill() {
      const fd = openSync(filler, 'a')
      const chunk = Buffer.alloc(64 * 1024, 1)
      let written = 0
      try {
        for (let size = chunk.length; size >= 1; ) {
          try {
            written += writeSync(fd, chunk, 0, size)
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error
            size = Math.floor(size / 2)
          }
        }
      } finally {
        closeSync(fd)
      }
      return written
    },
    free() {
      try {
        unlinkSync(filler)
      } catch {
        // already freed
      }
    },
    unmount() {
      try {
        execFileSync('umount', ['-l', dir], { stdio: 'pipe' })
      } catch {
        // not mounted any more
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
