import { SYNC_PATH_PREFIX } from '../../lib/routes'

/**
 * The sync endpoint's base URL, from the page's own location at run time: one build then serves
 * any host, port and scheme (a build-time NEXT_PUBLIC_ value would pin them). y-websocket
 * appends `/<docId>` itself.
 */
export function syncServerUrl(location: Pick<Location, 'protocol' | 'host'>): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:'
  return `${scheme}//${location.host}${SYNC_PATH_PREFIX.replace(/\/$/, '')}`
}
