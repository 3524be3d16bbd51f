/**
 * What the server's JSON endpoints (view links, history, sign-in and sharing) share: the error
 * that carries an HTTP status, the JSON answer, and reading a request body with a size cap.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'

/** A refusal with its HTTP status; the message is the answer's `error`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

export function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  })
  response.end(JSON.stringify(body))
}

/** The request's body; a 413 HttpError (`tooLarge`) as soon as it passes `maxBytes`. */
export async function readBody(request: IncomingMessage, maxBytes: number, tooLarge: string): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.byteLength
    if (size > maxBytes) throw new HttpError(413, tooLarge)
    chunks.push(chunk)
  }
  return Buffer.concat(chunks)
}
