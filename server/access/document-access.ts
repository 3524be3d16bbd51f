/**
 * Each document's owner, people and link setting, kept in the store and changed one at a time
 * per document. Whoever changes them is told the sync endpoint must look again at the
 * document's open sockets (live revocation), through `onChange`.
 */
import type { AccessStore } from '../storage/document-store.ts'
import type { DocumentAccess, LinkAccess, Person } from './permissions.ts'

export class DocumentAccessRegistry {
  private readonly inFlight = new Map<string, Promise<unknown>>()

  constructor(
    private readonly store: AccessStore,
    private readonly onChange: (docId: string, access: DocumentAccess) => void,
    /** What a new document's link setting is. */
    private readonly defaultLink: LinkAccess = 'people',
  ) {}

  get(docId: string): Promise<DocumentAccess | null> {
    return this.store.getAccess(docId)
  }

  /** The document's access; a document nobody owns yet becomes `person`'s (they are creating it). */
  getOrClaim(docId: string, person: Person): Promise<DocumentAccess> {
    return this.serialized(docId, async () => {
      const existing = await this.store.getAccess(docId)
      if (existing) return existing
      const access: DocumentAccess = {
        owner: { sub: person.sub, email: person.email, name: person.name },
        members: [],
        link: this.defaultLink,
      }
      await this.store.setAccess(docId, access, null)
      return access
    })
  }

  /** Applies `change` to the stored access (null when the document has none) and tells the endpoint. */
  update(docId: string, change: (access: DocumentAccess) => DocumentAccess): Promise<DocumentAccess | null> {
    return this.serialized(docId, async () => {
      const previous = await this.store.getAccess(docId)
      if (!previous) return null
      const next = change(structuredClone(previous))
      await this.store.setAccess(docId, next, previous)
      this.onChange(docId, next)
      return next
    })
  }

  sharedWith(email: string): Promise<string[]> {
    return this.store.documentsSharedWith(email)
  }

  private serialized<T>(docId: string, work: () => Promise<T>): Promise<T> {
    const previous = this.inFlight.get(docId) ?? Promise.resolve()
    const next = previous.then(work, work)
    this.inFlight.set(docId, next)
    const forget = () => {
      if (this.inFlight.get(docId) === next) this.inFlight.delete(docId)
    }
    next.then(forget, forget)
    return next
  }
}
