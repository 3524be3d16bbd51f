/**
 * Scenario: reconnect storm, what a deploy costs. N clients over M documents, all arriving from
 * one proxy address (the bench's 127.0.0.1; each client's own address in X-Forwarded-For, which
 * Chorus trusts from 127.0.0.1 with TRUST_PROXY), with Chorus's per-address limit at its default.
 *   a. first connect: every client connects (a few hundred handshakes at a time) and syncs;
 *   b. graceful restart: SIGTERM, wait for the exit; meanwhile the first client of each document
 *      edits offline; start again on the same data;
 *   c. the storm: every client reconnects as y-websocket does (100 ms doubling to 2.5 s) and must
 *      get the server's step 2 and hold its document with the offline edit.
 * Refusals (HTTP 429) are counted: behind a proxy without TRUST_PROXY, everyone shares the proxy's
 * 600 a minute (the issue measured 186 s and 57,488 refusals for 2,000 clients).
 *
 * The clients are light sync clients (bench/storm-clients.ts) in the bench process itself.
 * y-websocket's server with LevelDB is the baseline: no limits, and it ignores the header.
 */
import type { Scenario } from '../scenario.ts'
import { ServerProcess } from '../servers.ts'
import {
  connectGradually,
  documentationAddress,
  everyoneHolds,
  makeStormClients,
  offlineText,
  seedText,
  totals,
  type StormClient,
} from '../storm-clients.ts'
import { sleep } from '../traffic.ts'

const waitUntil = async (condition: () => boolean, what: string, timeoutMs: number): Promise<void> => {
  const deadline = performance.now() + timeoutMs
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}`)
    await sleep(5)
  }
}

export const reconnectStorm: Scenario = {
  id: 'reconnect-storm',
  title: 'Reconnect storm: a restart behind a proxy',
  appliesTo: (server) => server === 'chorus' || server === 'reference-leveldb',
  parameters: ({ reconnectStorm: s }) =>
    `${s.clients.toLocaleString('en')} clients over ${s.documents} documents, all from one proxy address (each client's own ` +
    `address in X-Forwarded-For; Chorus with TRUST_PROXY=127.0.0.1 and its default limit of 600 new connections per ` +
    `address per minute). First connect (${s.concurrency} handshakes at a time), then a graceful restart during which one ` +
    `client per document edits offline; every client reconnects as y-websocket does (100 ms doubling to 2.5 s). Resynced = ` +
    `the server's sync step 2 arrived on the new socket and the client holds its document with the offline edit`,
  metrics: () => [
    { key: 'firstConnectMs', label: 'first connect: all synced', unit: 'ms', digits: 0, better: 'lower' },
    { key: 'stopMs', label: 'graceful stop (SIGTERM to exit)', unit: 'ms', digits: 0, better: 'lower' },
    { key: 'startMs', label: 'start again (to ready line)', unit: 'ms', digits: 0, better: 'lower' },
    { key: 'resyncMs', label: 'ready to all resynced', unit: 'ms', digits: 0, better: 'lower' },
    {
      key: 'firstBackMs',
      label: 'of which: ready to the first resynced (reconnect backoff)',
      unit: 'ms',
      digits: 0,
      better: 'none',
    },
    { key: 'spreadMs', label: 'of which: first to last resynced', unit: 'ms', digits: 0, better: 'lower' },
    { key: 'totalMs', label: 'SIGTERM to all resynced', unit: 'ms', digits: 0, better: 'lower' },
    { key: 'refused', label: 'refusals (HTTP 429)', unit: '', digits: 0, better: 'lower' },
    { key: 'sockets', label: 'sockets opened (both phases)', unit: '', digits: 0, better: 'none' },
  ],
  async run({ server: kind, settings, log }) {
    const s = settings.reconnectStorm
    const server = await ServerProcess.launch(kind, {
      // The limits stay lifted for the other scenarios; this one is about the per-address limit.
      env: kind === 'chorus' ? { TRUST_PROXY: '127.0.0.1', MAX_CONNECTIONS_PER_ADDRESS_PER_MINUTE: '600' } : {},
    })
    let clients: StormClient[] = []
    try {
      clients = makeStormClients(s, `storm-${kind}`, (i) => ({ forwardedFor: documentationAddress(i) }), server.wsBase)
      let started = performance.now()
      await connectGradually(clients, s.concurrency, (c) => c.generation >= 1, 120_000)
      await waitUntil(() => everyoneHolds(clients, s, seedText), 'every client holds its document', 60_000)
      const firstConnectMs = performance.now() - started

      const before = clients.map((c) => c.generation)
      started = performance.now()
      const stop = await server.stop('SIGTERM')
      for (let d = 0; d < s.documents; d++) clients[d].text.insert(clients[d].text.length, offlineText(d))
      const startMs = await server.restart()
      const readyAt = performance.now()
      await waitUntil(
        () => clients.every((c, i) => c.generation > before[i]) && everyoneHolds(clients, s, (d) => seedText(d) + offlineText(d)),
        'every client resynced with the offline edits',
        300_000,
      )
      const doneAt = performance.now()
      const { refused, opened } = totals(clients)
      const firstBack = Math.min(...clients.map((c) => c.syncedAt))
      const lastBack = Math.max(...clients.map((c) => c.syncedAt))
      log(
        `  first connect ${firstConnectMs.toFixed(0)} ms; stop ${stop.ms.toFixed(0)} ms (exit ${stop.code}), start ${startMs.toFixed(0)} ms, ` +
          `all ${clients.length} resynced ${(doneAt - readyAt).toFixed(0)} ms after ready (${(doneAt - started).toFixed(0)} ms after SIGTERM; ` +
          `first back ${(firstBack - readyAt).toFixed(0)} ms after ready, first to last ${(lastBack - firstBack).toFixed(0)} ms); ` +
          `${refused} refused, ${opened} sockets`,
      )
      return {
        firstConnectMs,
        stopMs: stop.ms,
        startMs,
        resyncMs: doneAt - readyAt,
        firstBackMs: firstBack - readyAt,
        spreadMs: lastBack - firstBack,
        totalMs: doneAt - started,
        refused,
        sockets: opened,
      }
    } finally {
      for (const client of clients) client.destroy()
      await server.cleanup()
    }
  },
}
