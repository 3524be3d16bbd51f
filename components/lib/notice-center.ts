import type { Notice } from '../../lib/protocol'
import { Store } from './store'

/** Notices from the server (MessageType.Notice), newest last, one per code. */
export class NoticeCenter {
  readonly notices = new Store<readonly Notice[]>([])

  add(notice: Notice): void {
    const others = this.notices.get().filter((item) => item.code !== notice.code)
    this.notices.set([...others, notice])
  }

  dismiss(code: string): void {
    this.notices.set(this.notices.get().filter((item) => item.code !== code))
  }
}
