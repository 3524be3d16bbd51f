/**
 * Why a server could not start, as one line for an operator and an exit code for a supervisor
 * (systemd, Docker, Kubernetes), instead of a stack trace and a misleading status.
 *
 * Exit codes (README): 0 stopped on a signal, everything stored; 1 any other failure;
 * 2 a configuration problem that will not go away by itself (an invalid setting, a DATA_DIR that
 * is a file or not writable, an address that is not this machine's); 3 something else is using
 * what we need (the port, or DATA_DIR by another Chorus server), which may clear when it stops.
 */
import { access, mkdir, stat } from 'node:fs/promises'
import { constants, type Stats } from 'node:fs'
import path from 'node:path'
import type { ServerConfig } from '../config.ts'
import { StorageError } from '../storage/document-store.ts'

export const EXIT_FAILED = 1
export const EXIT_CONFIG = 2
export const EXIT_BUSY = 3

export class StartupFailure extends Error {
  override name = 'StartupFailure'
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message)
  }
}

/** DATA_DIR as the operator would write it: `./data` under the working folder, else absolute. */
export function showPath(folder: string): string {
  const relative = path.relative(process.cwd(), folder)
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? `./${relative}` : folder
}

function reason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied'
  if (code === 'EROFS') return 'read-only file system'
  if (code === 'ENOTDIR') return 'a part of the path is a file'
  return error instanceof Error ? error.message : String(error)
}

/**
 * Checks DATA_DIR before LevelDB sees it, whose own errors name neither the setting nor the
 * problem plainly. Creates the folder if missing; resolves to whether the store will be new.
 * (Write access is checked with access(2), which also answers for root on a read-only mount or
 * an immutable folder, where permission bits alone would not.)
 */
export async function prepareDataDir(dataDir: string): Promise<{ created: boolean }> {
  const shown = showPath(dataDir)
  let info: Stats
  try {
    info = await stat(dataDir)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new StartupFailure(`DATA_DIR ${shown} cannot be used: ${reason(error)}`, EXIT_CONFIG)
    }
    try {
      await mkdir(dataDir, { recursive: true })
    } catch (mkdirError) {
      throw new StartupFailure(`DATA_DIR ${shown} does not exist and cannot be created: ${reason(mkdirError)}`, EXIT_CONFIG)
    }
    return { created: true }
  }
  if (!info.isDirectory()) {
    throw new StartupFailure(`DATA_DIR ${shown} is a file, not a folder; point DATA_DIR at a folder`, EXIT_CONFIG)
  }
  try {
    await access(dataDir, constants.W_OK)
  } catch (error) {
    throw new StartupFailure(`DATA_DIR ${shown} is not writable: ${reason(error)}`, EXIT_CONFIG)
  }
  // LevelDB's CURRENT file names the live manifest: without it, LevelDB creates a new store here.
  const created = await access(path.join(dataDir, 'CURRENT')).then(
    () => false,
    () => true,
  )
  return { created }
}

/** Turns what startup threw into a StartupFailure; anything unforeseen becomes exit code 1. */
export function describeStartupFailure(error: unknown, config: ServerConfig): StartupFailure {
  if (error instanceof StartupFailure) return error
  const { code, syscall } = (error ?? {}) as NodeJS.ErrnoException
  const where = config.host ? `${config.host}:${config.port}` : `port ${config.port}`
  if (syscall === 'listen' || syscall === 'bind') {
    if (code === 'EADDRINUSE') {
      return new StartupFailure(`${where} is already in use by another program; stop it or set PORT to a free port`, EXIT_BUSY)
    }
    if (code === 'EACCES') {
      return new StartupFailure(`no permission to listen on ${where}; ports below 1024 need privileges, set PORT`, EXIT_CONFIG)
    }
    if (code === 'EADDRNOTAVAIL') {
      return new StartupFailure(`HOST ${config.host} is not an address of this machine`, EXIT_CONFIG)
    }
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new StartupFailure(`HOST ${config.host} cannot be resolved`, EXIT_CONFIG)
  }
  const message = oneLine(error instanceof Error ? error.message : String(error))
  if (error instanceof StorageError) {
    const shown = showPath(config.dataDir)
    // LevelDB's lock file: "lock …/LOCK: Resource temporarily unavailable" from another process,
    // "already held by process" from this one.
    if (/\block\b/i.test(message) && /temporarily unavailable|already held|would block/i.test(message)) {
      return new StartupFailure(`another Chorus server is already using DATA_DIR ${shown}`, EXIT_BUSY)
    }
    if (/permission denied|read-only file system/i.test(message)) {
      return new StartupFailure(`DATA_DIR ${shown} is not writable: ${message}`, EXIT_CONFIG)
    }
    return new StartupFailure(message.includes(config.dataDir) ? message : `DATA_DIR ${shown}: ${message}`, EXIT_FAILED)
  }
  return new StartupFailure(`could not start: ${message}`, EXIT_FAILED)
}

/** Messages from LevelDB and Next can span lines; an operator's log wants one. */
export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim()
}
