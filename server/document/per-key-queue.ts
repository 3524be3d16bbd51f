/**
 * Runs async work one piece at a time per key (a document id), in the order it was asked for,
 * and forgets a key once its queue is empty. A read-modify-write of one document's view link or
 * access then never interleaves with another for the same document.
 */
export class PerKeyQueue {
  private readonly tails = new Map<string, Promise<unknown>>()

  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve()
    const next = previous.then(work, work)
    this.tails.set(key, next)
    const forget = () => {
      if (this.tails.get(key) === next) this.tails.delete(key)
    }
    next.then(forget, forget)
    return next
  }
}
