/**
 * The floor: the least a y-websocket relay can do on this transport. It rebroadcasts every frame
 * to the other sockets of the same room (URL path) without decoding it, so anything a real sync
 * server costs above this is the price of understanding the documents.
 *
 * The only bytes it looks at are the first two, to play the server's part in the handshake with
 * constant frames (an empty document): a sync step 1 on connect, and an empty step 2 in answer to
 * a client's step 1. Handshake frames are not relayed, as a real server would not relay them.
 */
import http from 'node:http'
import { WebSocketServer, type WebSocket } from 'ws'

const STEP1_EMPTY = Uint8Array.of(0, 0, 1, 0)
const STEP2_EMPTY = Uint8Array.of(0, 1, 2, 0, 0)

const rooms = new Map<string, Set<WebSocket>>()
const server = http.createServer((_request, response) => response.end('floor\n'))
const wss = new WebSocketServer({ server, perMessageDeflate: false })

wss.on('connection', (ws, request) => {
  const name = (request.url ?? '/').split('?')[0]
  let room = rooms.get(name)
  if (!room) rooms.set(name, (room = new Set()))
  room.add(ws)
  ws.send(STEP1_EMPTY)
  ws.on('message', (frame: Buffer) => {
    if (frame[0] === 0 && frame[1] !== 2) {
      if (frame[1] === 0) ws.send(STEP2_EMPTY)
      return
    }
    for (const peer of room) if (peer !== ws) peer.send(frame)
  })
  ws.on('close', () => {
    room.delete(ws)
    if (room.size === 0) rooms.delete(name)
  })
  ws.on('error', () => ws.terminate())
})

server.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1', () => {
  const { port } = server.address() as import('node:net').AddressInfo
  process.stdout.write(`floor listening on http://127.0.0.1:${port}\n`)
})
process.on('SIGTERM', () => process.exit(0))
