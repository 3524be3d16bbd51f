/**
 * Which address a request comes from, for per-address limits and logs, when Chorus may run behind
 * reverse proxies (TRUST_PROXY). Pure: no sockets, no config reading; unit-tested directly.
 *
 * The semantics are Express's `trust proxy`: the chain of addresses is the socket's peer, then the
 * forwarding header's entries from right to left (each proxy appends the peer it saw). Starting
 * at the socket, every hop we trust may tell us who its peer was; the first hop we do not trust
 * is the client. A header is only ever believed on the word of a trusted peer, so a client that
 * connects directly (or through an untrusted hop) cannot choose its address by sending one.
 */
import ipaddr from 'ipaddr.js'

type Address = ipaddr.IPv4 | ipaddr.IPv6

/** Which forwarding header the proxies write (and so which one may be believed). */
export type ForwardedHeader = 'x-forwarded-for' | 'forwarded'

export type TrustProxy =
  | { readonly kind: 'off' }
  /** Trust the nearest `hops` peers, whatever their address (the socket's peer is hop 1). */
  | { readonly kind: 'hops'; readonly hops: number; readonly header: ForwardedHeader }
  /** Trust the peers whose address lies in one of `ranges`. */
  | { readonly kind: 'ranges'; readonly ranges: readonly (readonly [Address, number])[]; readonly header: ForwardedHeader }

export const TRUST_NOBODY: TrustProxy = { kind: 'off' }

/** Named ranges, as Express and proxy-addr spell them. */
const NAMED_RANGES: Record<string, string[]> = {
  loopback: ['127.0.0.0/8', '::1/128'],
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
  uniquelocal: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
}

/** A TRUST_PROXY value that cannot be used; the message says which part and why. */
export class TrustProxyError extends Error {
  override name = 'TrustProxyError'
}

/**
 * Reads TRUST_PROXY: empty, `off`, `false` or `0` trusts nobody (the socket's peer is the
 * client); a positive integer is a hop count; otherwise a comma-separated list of addresses,
 * CIDR ranges and the names loopback, linklocal, uniquelocal.
 */
export function parseTrustProxy(raw: string | undefined, header: ForwardedHeader = 'x-forwarded-for'): TrustProxy {
  const value = (raw ?? '').trim()
  if (value === '' || /^(off|false|0)$/i.test(value)) return TRUST_NOBODY
  if (/^(on|true|yes|\*)$/i.test(value)) {
    // Express's `true` believes the leftmost entry, which any client can write.
    throw new TrustProxyError(
      `"${value}" would let any client choose its own address; give the number of proxies in front of Chorus (e.g. 1) ` +
        `or their addresses (e.g. 10.0.0.0/8,::1)`,
    )
  }
  if (/^\d+$/.test(value)) {
    const hops = Number(value)
    if (!Number.isSafeInteger(hops) || hops > 100) throw new TrustProxyError(`hop count ${value} is not a number of proxies`)
    return { kind: 'hops', hops, header }
  }
  const ranges: [Address, number][] = []
  for (const item of value.split(',').map((part) => part.trim())) {
    if (item === '') continue
    const named = NAMED_RANGES[item.toLowerCase()]
    for (const spec of named ?? [item]) ranges.push(parseRange(spec))
  }
  if (ranges.length === 0) throw new TrustProxyError(`"${value}" names no address`)
  return { kind: 'ranges', ranges, header }
}

function parseRange(spec: string): [Address, number] {
  try {
    if (spec.includes('/')) {
      const [address, bits] = ipaddr.parseCIDR(spec)
      // Read an IPv4-mapped IPv6 range (::ffff:10.0.0.0/104) as the IPv4 range it means.
      if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) {
        return [(address as ipaddr.IPv6).toIPv4Address(), bits - 96]
      }
      return [address, bits]
    }
    const address = ipaddr.process(spec)
    return [address, address.kind() === 'ipv4' ? 32 : 128]
  } catch {
    throw new TrustProxyError(
      `"${spec}" is neither an IP address, a CIDR range (10.0.0.0/8, fd00::/8) nor one of loopback, linklocal, uniquelocal`,
    )
  }
}

/** A header's value(s) as Node gives them: repeated headers arrive joined by ", " or as an array. */
type HeaderValue = string | string[] | undefined

/**
 * The client's address for a request that arrived on a socket from `socketAddress`. Addresses are
 * normalised (IPv4-mapped IPv6 becomes IPv4, IPv6 is written compactly), so one client has one key.
 */
export function resolveClientAddress(
  socketAddress: string | undefined,
  headers: Record<string, HeaderValue>,
  trust: TrustProxy,
): string {
  const known = peerOf(socketAddress)
  if (!known) return socketAddress ?? 'unknown'
  const [peer, written] = known
  if (trust.kind === 'off') return written
  const header = headers[trust.header]
  if (header === undefined) return written
  const entries = trust.header === 'forwarded' ? forwardedForValues(header) : xForwardedForValues(header)
  // Nearest first: the socket's peer, then each proxy's report of its own peer.
  let client: Address = peer
  for (let hop = 0; hop < entries.length; hop++) {
    if (!isTrusted(client, hop, trust)) return client.toString()
    const reported = parseAddress(entries[entries.length - 1 - hop])
    // "unknown", an obfuscated identifier (RFC 7239 §6.3) or garbage: the trusted hop could not or
    // would not say who its peer was; that hop is the best address we know.
    if (!reported) return client.toString()
    client = reported
  }
  return client.toString()
}

/**
 * The socket's peer, parsed and written out. A client opens many connections from one address (a
 * proxy, all of them), so the last thousand or so are remembered rather than parsed each time.
 */
const peers = new Map<string, readonly [Address, string] | null>()
const PEERS_REMEMBERED = 1024

function peerOf(socketAddress: string | undefined): readonly [Address, string] | null {
  if (socketAddress === undefined) return null
  let known = peers.get(socketAddress)
  if (known === undefined) {
    const address = parseAddress(socketAddress)
    known = address ? [address, address.toString()] : null
    if (peers.size >= PEERS_REMEMBERED) peers.clear()
    peers.set(socketAddress, known)
  }
  return known
}

function isTrusted(address: Address, hop: number, trust: Exclude<TrustProxy, { kind: 'off' }>): boolean {
  if (trust.kind === 'hops') return hop < trust.hops
  return trust.ranges.some(([range, bits]) => {
    if (address.kind() === range.kind()) return address.match(range, bits)
    // An IPv4 peer and a range written in IPv6 (e.g. ::ffff:0:0/96).
    return address.kind() === 'ipv4' && (address as ipaddr.IPv4).toIPv4MappedAddress().match(range, bits)
  })
}

/** An address as a peer or a proxy may write it: bare, `[v6]`, with a port, with an IPv6 zone. */
function parseAddress(raw: string | undefined): Address | null {
  if (raw === undefined) return null
  let text = raw.trim()
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(text)
  if (bracketed) text = bracketed[1]
  else if (/^[\d.]+:\d{1,5}$/.test(text)) text = text.slice(0, text.lastIndexOf(':')) // IPv4 with a port
  if (!ipaddr.isValid(text)) return null
  try {
    // Also checks that an IPv4 address has four parts: ipaddr.isValid takes "1" or "0x7f.1".
    if (text.includes('.') && !text.includes(':') && !ipaddr.IPv4.isValidFourPartDecimal(text)) return null
    return ipaddr.process(text)
  } catch {
    return null
  }
}

function joined(header: string | string[]): string {
  return Array.isArray(header) ? header.join(',') : header
}

/** X-Forwarded-For: `client, proxy1, proxy2`, leftmost first. */
export function xForwardedForValues(header: string | string[]): string[] {
  return joined(header)
    .split(',')
    .map((entry) => entry.trim())
}

/**
 * Forwarded (RFC 7239): elements separated by commas, each `key=value` pairs separated by
 * semicolons, values a token or a quoted string (which may itself contain commas and semicolons,
 * e.g. `for="[2001:db8::1]:4711"`). One entry per element: its `for`, or '' when it has none or
 * cannot be read (so the hop still counts, as unknown).
 */
export function forwardedForValues(header: string | string[]): string[] {
  const text = joined(header)
  const entries: string[] = []
  let forValue: string | null = null
  let malformed = false
  let i = 0
  const endElement = () => {
    entries.push(malformed ? '' : (forValue ?? ''))
    forValue = null
    malformed = false
  }
  while (i <= text.length) {
    // One pair, or an empty one (",," and ";;" are tolerated as RFC 7230's list rule allows).
    while (i < text.length && (text[i] === ' ' || text[i] === '\t')) i++
    if (i >= text.length) {
      endElement()
      break
    }
    if (text[i] === ',') {
      endElement()
      i++
      continue
    }
    if (text[i] === ';') {
      i++
      continue
    }
    const eq = text.indexOf('=', i)
    const stop = nextDelimiter(text, i)
    if (eq === -1 || eq > stop) {
      malformed = true
      i = stop
      continue
    }
    const key = text.slice(i, eq).trim().toLowerCase()
    let value: string
    i = eq + 1
    if (text[i] === '"') {
      let end = i + 1
      value = ''
      while (end < text.length && text[end] !== '"') {
        if (text[end] === '\\' && end + 1 < text.length) end++
        value += text[end]
        end++
      }
      if (end >= text.length) {
        // An unterminated quote swallows the rest: nothing after it can be trusted to be parsed right.
        malformed = true
        i = text.length
        continue
      }
      i = end + 1
    } else {
      const end = nextDelimiter(text, i)
      value = text.slice(i, end).trim()
      i = end
    }
    if (key === 'for') {
      // Two `for`s in one element make it ambiguous.
      if (forValue !== null) malformed = true
      forValue = value
    }
    // Anything between the value and the next delimiter is not a pair.
    while (i < text.length && (text[i] === ' ' || text[i] === '\t')) i++
    if (i < text.length && text[i] !== ',' && text[i] !== ';') {
      malformed = true
      i = nextDelimiter(text, i)
    }
  }
  return entries
}

function nextDelimiter(text: string, from: number): number {
  for (let i = from; i < text.length; i++) if (text[i] === ',' || text[i] === ';') return i
  return text.length
}
