import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * Security headers for every path, static assets included. The Content-Security-Policy, which
 * needs a nonce per request, is set by proxy.ts.
 */
const SECURITY_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  // A document link is the key to the document: never send it to other sites.
  'Referrer-Policy': 'no-referrer',
  // frame-ancestors in the CSP says the same to current browsers; this is for older ones.
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Permissions-Policy': 'camera=(), microphone=(), geolocation=(), payment=()',
}

// A self-hosted server sends no usage data to Vercel, and no first-run notice about it. Here, because
// every Next command (`next build`, the dev and production servers) loads this file before its
// telemetry starts; setting NEXT_TELEMETRY_DISABLED yourself still wins.
process.env.NEXT_TELEMETRY_DISABLED ??= '1'

/** @type {import('next').NextConfig} */
const nextConfig = {
  // The sync server (same process, see server/main.ts) imports yjs itself; keeping it external
  // here makes Next's server bundle load that very copy instead of a second one
  // ("Yjs was already imported", see yjs#438).
  serverExternalPackages: ['yjs', 'leveldown'],
  // This folder is the project, whatever lockfiles lie above it: without this, Next looks for the
  // outermost lockfile (a stray ~/package-lock.json), picks that folder as the root and warns at
  // every start and build.
  turbopack: { root: dirname(fileURLToPath(import.meta.url)) },
  reactStrictMode: true,
  poweredByHeader: false,
  // `next dev` refuses hot reload from other hostnames; 127.0.0.1 is what tests and many users type.
  allowedDevOrigins: ['127.0.0.1', 'localhost'],
  async headers() {
    const headers = Object.entries(SECURITY_HEADERS).map(([key, value]) => ({ key, value }))
    return [{ source: '/:path*', headers }]
  },
}

export default nextConfig
