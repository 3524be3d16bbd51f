import type { Awareness } from 'y-protocols/awareness'
import { distinctColor } from './distinct-color'
import { displayName, type Identity } from './identity'
import { Store } from './store'

/**
 * What the others in a document see of me: my name, and a caret colour that nobody else there
 * shows (see distinct-color.ts), kept in my awareness state's `user` field. The colour I chose
 * stays mine in storage; this is only the one shown in this document, now.
 */
export class MyPresence {
  /** The colour I am shown in, for my own swatch. */
  readonly color: Store<string>
  readonly #awareness: Awareness
  readonly #viewing: boolean
  readonly #authorId: string
  #identity: Identity

  constructor(awareness: Awareness, identity: Identity, viewing: boolean, authorId: string) {
    this.#awareness = awareness
    this.#viewing = viewing
    this.#authorId = authorId
    this.#identity = identity
    this.color = new Store(identity.color)
    this.#announce()
    awareness.on('change', this.#onChange)
  }

  setUser(identity: Identity): void {
    this.#identity = identity
    this.#announce()
  }

  destroy(): void {
    this.#awareness.off('change', this.#onChange)
  }

  readonly #onChange = (): void => {
    if (this.#pickColor() !== this.color.get()) this.#announce()
  }

  #pickColor(): string {
    const me = this.#awareness.clientID
    const others = new Map<number, string>()
    for (const [client, state] of this.#awareness.getStates()) {
      const user = (state as { user?: { color?: unknown; id?: unknown } }).user
      // My other tabs are me: they show my colour, and giving way to them would split me in two.
      if (client === me || user?.id === this.#authorId) continue
      if (typeof user?.color === 'string') others.set(client, user.color)
    }
    return distinctColor(me, this.#identity.color, this.color.get(), others)
  }

  #announce(): void {
    const color = this.#pickColor()
    this.color.set(color)
    this.#awareness.setLocalStateField('user', {
      name: displayName(this.#identity.name),
      color,
      // Lets everyone's presence list show my tabs as one person.
      id: this.#authorId,
      // Everyone's presence list marks viewers, so nobody waits for a reply from someone who
      // cannot type.
      ...(this.#viewing && { viewing: true }),
    })
  }
}
