/**
 * A TCP forwarder that a test can cut and restore: one instance's own link to Redis, so that a
 * test can take Redis away from that instance alone (a partition) while the others keep it.
 * Cutting destroys every forwarded socket at once (no goodbye, like a pulled cable) and refuses
 * new ones until restored; it listens on the same port throughout.
 */
import net from 'node:net'

export interface TcpLink {
  readonly port: number
  /** redis://127.0.0.1:<port> when the target is Redis. */
  readonly url: string
  cut(): void
  restore(): void
  close(): Promise<void>
}

export async function startTcpLink(targetPort: number): Promise<TcpLink> {
  const sockets = new Set<net.Socket>()
  let open = true
  const server = net.createServer((client) => {
    if (!open) {
      client.destroy()
      return
    }
    const upstream = net.connect(targetPort, '127.0.0.1')
    for (const socket of [client, upstream]) {
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
      socket.on('error', () => {
        client.destroy()
        upstream.destroy()
      })
    }
    client.pipe(upstream)
    upstream.pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    cut() {
      open = false
      for (const socket of sockets) socket.destroy()
    },
    restore() {
      open = true
    },
    async close() {
      open = false
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}
