/**
 * Version history: automatic versions after a pause in editing (checkpoint-policy.ts), named
 * versions, restores, and who changed what. It listens to the documents' events (document-events.ts)
 * rather than being called by them: an `applied` event names the connections that wrote, and each
 * connection's awareness `user` ({ id, name, color }) says who that is.
 *
 * A version is a Yjs snapshot of the document, which the server keeps gc-free, plus a description
 * (lib/history.ts's Version, and which Yjs clients belong to which author, for highlights). Only
 * deletions since the previous version are stored with it (version-snapshots.ts). Reading a version
 * reads the document as the snapshot saw it; nothing stored is ever rewritten, and a restore is a
 * new change on top.
 *
 * Several instances (REDIS_URL): each makes versions of the edits its own connections made; a
 * peer's updates are not attributed here.
 */
import * as Y from 'yjs'
import { restoreFragment } from '../../lib/restore-change.ts'
import {
  MAX_CATCH_UP_CLIENTS,
  parseAuthor,
  type Author,
  type CatchUp,
  type CatchUpClient,
  type Version,
  type VersionKind,
  type VersionPage,
} from '../../lib/history.ts'
import type { DocumentStore, VersionStore } from '../storage/document-store.ts'
import type { Logger } from '../ops/logger.ts'
import { checkpointDue, nextCheck, noteEdit, type CheckpointPolicy, type PendingEdits } from './checkpoint-policy.ts'
import type { DocumentRegistry } from './document-registry.ts'
import type { DocumentConnection } from './document-connection.ts'
import { copyForReading, FRAGMENT, readVersion, summarize, toHtml, toPlainText, toProseMirrorJson } from './version-content.ts'
import { decodeVersionSnapshot, encodeVersionSnapshot, isKeyframe, keyframeOf } from './version-snapshots.ts'

/** What is stored as a version's meta: the API's Version and the Yjs clients its authors wrote with. */
interface VersionMeta extends Version {
  /** Yjs client id → author id, for the clients first seen in this version. */
  clients: Record<string, string>
}

/** An unknown version (404). */
export class UnknownVersionError extends Error {
  override name = 'UnknownVersionError'
}

/** The document cannot be worked on now (it is reloading, or failed to load): try again (503). */
export class DocumentBusyError extends Error {
  override name = 'DocumentBusyError'
}

interface Tracker {
  edits: PendingEdits | null
  /** Who changed the document since the last version. */
  authors: Map<string, Author>
  /** Yjs clients seen writing since the last version, and whose they are. */
  clients: Map<number, Author>
  /** The awareness text each of those clients was last read from: unchanged, it is not parsed again. */
  readFrom: Map<number, string>
  /** Each writer's awareness states as last read (the registry hands out the same array until they change). */
  statesRead: WeakMap<DocumentConnection, unknown>
  timer: NodeJS.Timeout | null
  /** Work on this document's history, one piece at a time (seq numbers are handed out in order). */
  queue: Promise<unknown>
  /** Pieces of work queued or running. */
  busy: number
  last: { seq: number; snapshot: Y.Snapshot } | null
  /** Every author ever seen, and which Yjs clients are whose (loaded from all metas once). */
  knownClients: Map<number, Author> | null
}

export type VersionFormat = 'json' | 'html' | 'text'

interface VersionRequest {
  kind: VersionKind
  name?: string | null
  restoredFrom?: string
  requester?: Author | null
  /** The state to record, when not the document as it is now (taken earlier, in step with a change). */
  snapshot?: Y.Snapshot
  /**
   * The document as it left memory, fully stored: read instead of loading it again from the store,
   * unless it has been opened again since.
   */
  unloaded?: Y.Doc
}

/** Authors whose id is someone's awareness `user.id`: parsed from the state's JSON text. */
function authorFromAwareness(json: string): Author | null {
  try {
    const state = JSON.parse(json) as { user?: unknown }
    return parseAuthor(state?.user)
  } catch {
    return null
  }
}

export class DocumentHistory {
  private readonly trackers = new Map<string, Tracker>()
  private closed = false

  constructor(
    private readonly documents: DocumentRegistry,
    private readonly store: DocumentStore & VersionStore,
    private readonly policy: CheckpointPolicy,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    documents.events.on('applied', ({ docId, origin, writers }) => {
      // Another instance's edits are recorded by that instance's history.
      if (origin === 'peer') return
      this.noteEdit(docId, writers)
    })
    documents.events.on('unloaded', ({ docId, final }) => {
      const tracker = this.trackers.get(docId)
      if (!tracker) return
      // Leaving memory is a pause as long as any: what was edited becomes a version now. Then the
      // tracker goes too, so that a server that has seen many documents keeps none of the idle ones.
      const forget = () => {
        if (tracker.busy === 0 && !tracker.edits && !this.documents.get(docId) && this.trackers.get(docId) === tracker) {
          this.trackers.delete(docId)
        }
      }
      if (tracker.edits) void this.checkpoint(docId, final ?? undefined).then(forget)
      else void tracker.queue.then(forget)
    })
  }

  private tracker(docId: string): Tracker {
    let tracker = this.trackers.get(docId)
    if (!tracker) {
      tracker = {
        edits: null,
        authors: new Map(),
        clients: new Map(),
        readFrom: new Map(),
        statesRead: new WeakMap(),
        timer: null,
        queue: Promise.resolve(),
        busy: 0,
        last: null,
        knownClients: null,
      }
      this.trackers.set(docId, tracker)
    }
    return tracker
  }

  private noteEdit(docId: string, writers: readonly DocumentConnection[]): void {
    if (this.closed) return
    const tracker = this.tracker(docId)
    const document = this.documents.get(docId)
    for (const writer of writers) {
      // Every batch of every writer passes here: its states are read once per change of them, and
      // an author is parsed once per change of its state.
      const states = document?.awarenessOf(writer) ?? []
      if (tracker.statesRead.get(writer) === states) continue
      tracker.statesRead.set(writer, states)
      for (const { clientId, json } of states) {
        if (tracker.readFrom.get(clientId) === json) continue
        const author = authorFromAwareness(json)
        if (!author) continue
        tracker.authors.set(author.id, author)
        tracker.clients.set(clientId, author)
        tracker.readFrom.set(clientId, json)
      }
    }
    const now = this.now()
    // In place: this runs for every batch of every document.
    if (tracker.edits) tracker.edits.lastAt = Math.max(tracker.edits.lastAt, now)
    else tracker.edits = noteEdit(null, now)
    // A timer set earlier never fires late: later edits only move the pause's end later, and the
    // continuous-editing deadline is fixed from the first edit. If it fires early, it is set again.
    if (!tracker.timer) this.arm(docId, tracker)
  }

  private arm(docId: string, tracker: Tracker): void {
    if (tracker.timer) clearTimeout(tracker.timer)
    const at = nextCheck(this.policy, tracker.edits)
    tracker.timer = at === null ? null : setTimeout(() => this.onTimer(docId), Math.max(0, at - this.now()))
    tracker.timer?.unref()
  }

  private onTimer(docId: string): void {
    const tracker = this.tracker(docId)
    tracker.timer = null
    if (checkpointDue(this.policy, tracker.edits, this.now()) !== null) void this.checkpoint(docId)
    else this.arm(docId, tracker)
  }

  private async checkpoint(docId: string, unloaded?: Y.Doc): Promise<void> {
    try {
      await this.createVersion(docId, { kind: 'auto', unloaded })
    } catch (error) {
      this.logger.warn('automatic version failed; retried after the next edit', { doc: docId, error })
    }
  }

  /** Runs `work` after the document's earlier history work, one at a time. */
  private serial<T>(docId: string, work: () => Promise<T>): Promise<T> {
    const tracker = this.tracker(docId)
    tracker.busy++
    const result = tracker.queue.then(work, work).finally(() => tracker.busy--)
    tracker.queue = result.catch(() => undefined)
    return result
  }

  /**
   * Makes a version of the document as it is now. An automatic one is skipped (null) when nothing
   * changed since the previous version.
   */
  createVersion(docId: string, request: VersionRequest): Promise<Version | null> {
    return this.serial(docId, async () => {
      const tracker = this.tracker(docId)
      // Taken now: edits made while this version is written belong to the next one.
      const edits = tracker.edits
      const authors = new Map(tracker.authors)
      const clients = new Map(tracker.clients)
      tracker.edits = null
      tracker.authors.clear()
      tracker.clients.clear()
      tracker.readFrom.clear()
      tracker.statesRead = new WeakMap()
      if (tracker.timer) clearTimeout(tracker.timer)
      tracker.timer = null
      try {
        return await this.writeVersion(docId, tracker, request, authors, clients)
      } catch (error) {
        // Read the newest version from the store next time: another instance may have taken this
        // number (PostgreSQL refuses a second version with it).
        tracker.last = null
        // Nothing was stored: the edits are still to be versioned.
        if (edits) tracker.edits = noteEdit(tracker.edits, edits.firstAt)
        for (const [id, author] of authors) if (!tracker.authors.has(id)) tracker.authors.set(id, author)
        for (const [id, author] of clients) if (!tracker.clients.has(id)) tracker.clients.set(id, author)
        if (tracker.edits && !this.closed) this.arm(docId, tracker)
        throw error
      }
    })
  }

  private async writeVersion(
    docId: string,
    tracker: Tracker,
    request: VersionRequest,
    authors: Map<string, Author>,
    clients: Map<number, Author>,
  ): Promise<Version | null> {
    // At a stop every edited document leaves memory and becomes a version: reading it again from
    // the store doubled the time a graceful stop takes.
    const ydoc = request.unloaded && !this.documents.get(docId) ? request.unloaded : await this.readableDoc(docId)
    const snapshot = request.snapshot ?? Y.snapshot(ydoc)
    const last = tracker.last ?? (await this.latest(docId))
    if (request.kind === 'auto' && last && Y.equalSnapshots(last.snapshot, snapshot)) return null
    const seq = (last?.seq ?? 0) + 1
    // Only the word counts are kept, which need no authors: the authors every version ever named
    // (knownClients, a read of every stored description) are not loaded for them. At a stop each
    // edited document is versioned, and that read was most of the time it took.
    const reading = readVersion(
      ydoc === this.documents.get(docId)?.ydoc ? copyForReading(ydoc) : ydoc,
      snapshot,
      last?.snapshot ?? Y.emptySnapshot,
      () => null,
    )
    const { added, removed } = summarize(reading)
    const listed =
      request.kind === 'restore' && request.requester ? new Map([[request.requester.id, request.requester]]) : authors
    const meta: VersionMeta = {
      id: String(seq),
      createdAt: new Date(this.now()).toISOString(),
      name: request.name ?? null,
      kind: request.kind,
      authors: [...listed.values()],
      summary: { added, removed },
      ...(request.restoredFrom ? { restoredFrom: request.restoredFrom } : {}),
      clients: Object.fromEntries([...clients].map(([clientId, author]) => [String(clientId), author.id])),
    }
    // The authors of clients are found by id in the metas: every author a client maps to is listed.
    for (const author of clients.values())
      if (!meta.authors.some((listedAuthor) => listedAuthor.id === author.id)) meta.authors.push(author)
    await this.store.appendVersion(docId, {
      seq,
      meta: JSON.stringify(meta),
      snapshot: encodeVersionSnapshot(snapshot, last?.snapshot ?? null, isKeyframe(seq)),
    })
    tracker.last = { seq, snapshot }
    for (const [clientId, author] of clients) tracker.knownClients?.set(clientId, author)
    this.logger.debug('version stored', { doc: docId, version: seq, kind: request.kind })
    return publicVersion(meta)
  }

  /** The live Y.Doc when the document is open here, else one read from the store. */
  private async readableDoc(docId: string): Promise<Y.Doc> {
    const open = this.documents.get(docId)
    if (open?.isReady) return open.ydoc
    const stored = await this.store.load(docId)
    const ydoc = new Y.Doc({ gc: false })
    Y.transact(ydoc, () => {
      for (const update of stored.updates) Y.applyUpdate(ydoc, update)
    })
    return ydoc
  }

  private async latest(docId: string): Promise<{ seq: number; snapshot: Y.Snapshot } | null> {
    const [newest] = await this.store.listVersions(docId, { beforeSeq: null, limit: 1 })
    return newest ? { seq: newest.seq, snapshot: await this.snapshotOf(docId, newest.seq) } : null
  }

  private async snapshotOf(docId: string, seq: number): Promise<Y.Snapshot> {
    const run = await this.store.readVersions(docId, keyframeOf(seq), seq)
    if (run.length === 0 || run[run.length - 1].seq !== seq) throw new UnknownVersionError(`no version ${seq}`)
    return decodeVersionSnapshot(run.map((version) => version.snapshot))
  }

  private async knownClients(docId: string, tracker: Tracker): Promise<Map<number, Author>> {
    if (tracker.knownClients) return tracker.knownClients
    const known = new Map<number, Author>()
    const metas = await this.store.listVersions(docId, { beforeSeq: null, limit: Number.MAX_SAFE_INTEGER })
    // Oldest first, so that a later version's view of an author (a new name) wins.
    for (const { meta } of metas.reverse()) {
      const parsed = JSON.parse(meta) as VersionMeta
      const byId = new Map(parsed.authors.map((author) => [author.id, author]))
      for (const [clientId, authorId] of Object.entries(parsed.clients ?? {})) {
        const author = byId.get(authorId)
        if (author) known.set(Number(clientId), author)
      }
    }
    // Set only now: concurrent callers each build their own, and the last one stays.
    tracker.knownClients ??= known
    return tracker.knownClients
  }

  async listVersions(docId: string, before: string | null, limit: number): Promise<VersionPage> {
    const beforeSeq = before === null ? null : parseSeq(before)
    const rows = await this.store.listVersions(docId, { beforeSeq, limit: limit + 1 })
    const versions = rows.slice(0, limit).map((row) => publicVersion(JSON.parse(row.meta) as VersionMeta))
    return { versions, nextBefore: rows.length > limit ? versions[versions.length - 1].id : null }
  }

  private async describe(docId: string, id: string): Promise<VersionMeta> {
    const seq = parseSeq(id)
    const [row] = await this.store.listVersions(docId, { beforeSeq: seq + 1, limit: 1 })
    if (!row || row.seq !== seq) throw new UnknownVersionError(`no version ${id}`)
    return JSON.parse(row.meta) as VersionMeta
  }

  /**
   * A version's content ('current' for the document as it is now). With `compare` (a version id,
   * or 'previous'), the html marks what changed since that one.
   */
  async readVersion(
    docId: string,
    id: string,
    format: VersionFormat,
    compare: string | null,
  ): Promise<{ version: Version | null; content: unknown; comparedWith: string | null }> {
    const version = id === 'current' ? null : publicVersion(await this.describe(docId, id))
    const ydoc = await this.readableDoc(docId)
    const snapshot = id === 'current' ? Y.snapshot(ydoc) : await this.snapshotOf(docId, parseSeq(id))
    let previous: Y.Snapshot | null = null
    let comparedWith: string | null = null
    if (compare !== null && format === 'html') {
      comparedWith =
        compare === 'previous' ? (id === 'current' ? null : parseSeq(id) > 1 ? String(parseSeq(id) - 1) : null) : compare
      previous =
        comparedWith === null
          ? compare === 'previous'
            ? Y.emptySnapshot
            : null
          : await this.snapshotOf(docId, parseSeq(comparedWith))
    }
    const tracker = this.tracker(docId)
    const known = await this.knownClients(docId, tracker)
    const authorOf = (clientId: number) => known.get(clientId) ?? tracker.clients.get(clientId) ?? null
    const copy = ydoc === this.documents.get(docId)?.ydoc ? copyForReading(ydoc) : ydoc
    const reading = readVersion(copy, snapshot, previous, authorOf)
    copy.destroy()
    const content = format === 'json' ? toProseMirrorJson(reading) : format === 'text' ? toPlainText(reading) : toHtml(reading)
    return { version, content, comparedWith }
  }

  /**
   * Restores a version as a new change by `requester`, applied to the open document (every editor
   * sees it live; edits made meanwhile are kept: only what differs from the version changes), then
   * records it as a version of kind 'restore'.
   */
  async restore(docId: string, id: string, requester: Author | null): Promise<Version> {
    const seq = parseSeq(id)
    await this.describe(docId, id)
    const document = this.documents.open(docId)
    const release = document.hold()
    try {
      if (!(await document.whenReady())) throw new DocumentBusyError('the document is not available now; try again')
      const snapshot = await this.snapshotOf(docId, seq)
      // From here to applying the update nothing waits, so no edit can arrive in between: the
      // change is computed on a copy (reading a snapshot splits items, a transaction the live
      // document's observers need not see), then applied to the document as one update with the
      // restore origin, so that the document's own policy relays and stores it.
      const scratch = copyForReading(document.ydoc)
      // The state being left becomes a version first (unless it is one), so the timeline shows it.
      const left = Y.snapshot(scratch)
      const target = Y.createDocFromSnapshot(scratch, snapshot)
      const before = Y.encodeStateVector(scratch)
      scratch.transact(() => restoreFragment(scratch.getXmlFragment(FRAGMENT), target.getXmlFragment(FRAGMENT)))
      const update = Y.encodeStateAsUpdate(scratch, before)
      const tracker = this.tracker(docId)
      if (requester) tracker.clients.set(scratch.clientID, requester)
      document.applyUpdate(update, { kind: 'restore', requestedBy: requester?.id ?? null })
      target.destroy()
      scratch.destroy()
      await this.createVersion(docId, { kind: 'auto', snapshot: left })
      const version = await this.createVersion(docId, { kind: 'restore', restoredFrom: id, requester })
      return version as Version
    } finally {
      release()
    }
  }

  /**
   * Records a restore a browser made itself (as one undoable change of its own), once the
   * document holds everything that browser had (`stateVector`).
   */
  async recordRestore(
    docId: string,
    id: string,
    requester: Author | null,
    stateVector: Uint8Array,
    timeoutMs: number,
  ): Promise<Version> {
    await this.describe(docId, id)
    await this.whenHolds(docId, stateVector, timeoutMs)
    return (await this.createVersion(docId, { kind: 'restore', restoredFrom: id, requester })) as Version
  }

  /**
   * Resolves once the open document holds everything a client had (its state vector), so that a
   * version asked for right after typing contains the typing. Rejects after `timeoutMs`.
   */
  async whenHolds(docId: string, stateVector: Uint8Array, timeoutMs: number): Promise<void> {
    const wanted = Y.decodeStateVector(stateVector)
    const covered = () => {
      const document = this.documents.get(docId)
      if (!document?.isReady) return false
      const have = Y.decodeStateVector(Y.encodeStateVector(document.ydoc))
      for (const [client, clock] of wanted) if ((have.get(client) ?? 0) < clock) return false
      return true
    }
    if (covered()) return
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        off()
        reject(new DocumentBusyError('the latest changes have not reached the server yet; try again'))
      }, timeoutMs)
      const off = this.documents.events.on('applied', (event) => {
        if (event.docId === docId && covered()) {
          clearTimeout(timer)
          off()
          resolve()
        }
      })
    })
  }

  /** What changed since version `since` (this browser's last visit), by whom other than `me`. */
  async catchUp(docId: string, since: string, me: string | null): Promise<CatchUp> {
    const sinceVersion = publicVersion(await this.describe(docId, since))
    const newer: Version[] = []
    let before: string | null = null
    for (;;) {
      const page = await this.listVersions(docId, before, 200)
      for (const version of page.versions) if (parseSeq(version.id) > parseSeq(since)) newer.push(version)
      if (page.nextBefore === null || parseSeq(page.nextBefore) <= parseSeq(since)) break
      before = page.nextBefore
    }
    const authors = new Map<string, Author>()
    for (const version of newer) for (const author of version.authors) if (author.id !== me) authors.set(author.id, author)
    for (const author of this.tracker(docId).authors.values()) if (author.id !== me) authors.set(author.id, author)
    const ydoc = await this.readableDoc(docId)
    const copy = ydoc === this.documents.get(docId)?.ydoc ? copyForReading(ydoc) : ydoc
    const sinceSnapshot = await this.snapshotOf(docId, parseSeq(since))
    const now = Y.snapshot(copy)
    const reading = readVersion(copy, now, sinceSnapshot, () => null)
    copy.destroy()
    const { inserted, clientsLeftOut } = await this.insertedSince(docId, sinceSnapshot, now, me, authors)
    return {
      since: sinceVersion,
      versions: newer.length,
      authors: [...authors.values()],
      paragraphsChanged: summarize(reading).blocksChanged,
      inserted,
      clientsLeftOut,
    }
  }

  /**
   * The Yjs clients that wrote between two snapshots, with their authors (not `me`), for a
   * browser to mark their text in its own copy of the document. Clients nobody is known for
   * (another instance's, or a server restore without a requester) are left out: there is no
   * author to show. Their authors are added to `authors`.
   */
  private async insertedSince(
    docId: string,
    since: Y.Snapshot,
    now: Y.Snapshot,
    me: string | null,
    authors: Map<string, Author>,
  ): Promise<{ inserted: CatchUpClient[]; clientsLeftOut: number }> {
    const tracker = this.tracker(docId)
    const known = await this.knownClients(docId, tracker)
    const wrote: (CatchUpClient & { amount: number })[] = []
    for (const [client, clock] of now.sv) {
      const from = since.sv.get(client) ?? 0
      if (clock <= from) continue
      const author = known.get(client) ?? tracker.clients.get(client)
      if (!author || author.id === me) continue
      wrote.push({ client, from, author: author.id, amount: clock - from })
      if (!authors.has(author.id)) authors.set(author.id, author)
    }
    wrote.sort((a, b) => b.amount - a.amount)
    const inserted = wrote.slice(0, MAX_CATCH_UP_CLIENTS).map(({ client, from, author }) => ({ client, from, author }))
    return { inserted, clientsLeftOut: wrote.length - inserted.length }
  }

  /** Makes versions of what is pending, then stops (graceful stop; the store is still open). */
  async close(): Promise<void> {
    this.closed = true
    const work: Promise<unknown>[] = []
    for (const [docId, tracker] of this.trackers) {
      if (tracker.timer) clearTimeout(tracker.timer)
      tracker.timer = null
      if (tracker.edits) work.push(this.checkpoint(docId))
      work.push(tracker.queue)
    }
    await Promise.all(work)
  }
}

function parseSeq(id: string): number {
  if (!/^[1-9]\d{0,14}$/.test(id)) throw new UnknownVersionError(`no version ${id}`)
  return Number(id)
}

function publicVersion(meta: VersionMeta): Version {
  const { clients: _clients, ...version } = meta
  return version
}
