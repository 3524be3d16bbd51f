import { useEffect } from 'react'

/**
 * Keeps the tab's title at `title` while mounted. Setting it once is not enough: Next streams a
 * page's metadata after the page itself, so the route's placeholder <title> can arrive after
 * ours and would otherwise stay.
 */
export function useDocumentTitle(title: string): void {
  useEffect(() => {
    const apply = () => {
      if (document.title !== title) document.title = title
    }
    apply()
    const observer = new MutationObserver(apply)
    observer.observe(document.head, { childList: true, subtree: true, characterData: true })
    return () => observer.disconnect()
  }, [title])
}
