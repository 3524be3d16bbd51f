import type { Notice } from '../../lib/protocol'
import { Store } from './store'

/**
 * Notices from the server (MessageType.Notice), newest last, one per code. A notice with an empty
 * message withdraws the one with its code (the server sends that when, say, storage works again).
 */
export class NoticeCenter {
  readonly notices = new Store<readonly Notice[]>([])

  add(notice: Notice): void {
    const others = this.notices.get().filter((item) => item.code !== notice.code)
    if (notice.message === '' && others.length === this.notices.get().length) return
    this.notices.set(notice.message === '' ? others : [...others, notice])
  }

  dismiss(code: string): void {
    this.notices.set(this.notices.get().filter((item) => item.code !== code))
  }
}
