/**
 * Each document's owner, people and link setting, kept in the store and changed one at a time
 * per document. Whoever changes them is told the sync endpoint must look again at the
 * document's open sockets (live revocation), through `onChange`.
 */
import type { AccessStore } from '../storage/document-store.ts'
import type { DocumentAccess, LinkAccess, Person } from './permissions.ts'
import { PerKeyQueue } from '../document/per-key-queue.ts'

export class DocumentAccessRegistry {
  private readonly queue = new PerKeyQueue()

  constructor(
    private readonly store: AccessStore,
    private readonly onChange: (docId: string, access: DocumentAccess) => void,
    /** Whether a document has stored content (it was written before sign-in was turned on). */
    private readonly hasContent: (docId: string) => Promise<boolean>,
    private readonly allowPublicLinks: boolean,
  ) {}

  /**
   * A document written before sign-in was turned on: it has content but nobody owns it. Its link
   * keeps working as it did (anyone with it edits) where the operator allows public links.
   */
  async isUnclaimedOld(docId: string): Promise<boolean> {
    return (await this.store.getAccess(docId)) === null && (await this.hasContent(docId))
  }

  get(docId: string): Promise<DocumentAccess | null> {
    return this.store.getAccess(docId)
  }

  /** The document's access; a document nobody owns yet becomes `person`'s (they are creating it). */
  getOrClaim(docId: string, person: Person): Promise<DocumentAccess> {
    return this.queue.run(docId, async () => {
      const existing = await this.store.getAccess(docId)
      if (existing) return existing
      // A new document is private to its creator until shared. One that existed before sign-in
      // was turned on gets an owner, but its link keeps opening it as before.
      const old = await this.hasContent(docId)
      const link: LinkAccess = !old ? 'people' : this.allowPublicLinks ? 'anyone' : 'signed-in-edit'
      const access: DocumentAccess = {
        owner: { sub: person.sub, email: person.email, name: person.name },
        members: [],
        link,
      }
      await this.store.setAccess(docId, access, null)
      return access
    })
  }

  /** Applies `change` to the stored access (null when the document has none) and tells the endpoint. */
  update(docId: string, change: (access: DocumentAccess) => DocumentAccess): Promise<DocumentAccess | null> {
    return this.queue.run(docId, async () => {
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
}
