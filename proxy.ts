/**
 * Runs before every page render: a fresh nonce per request, and the Content-Security-Policy that
 * allows only scripts carrying it. Next reads the policy from the request headers and puts the
 * nonce on its own scripts, which is why pages are rendered per request (see app/layout.tsx).
 */
import { NextResponse, type NextRequest } from 'next/server'
import { contentSecurityPolicy } from './lib/security-headers'

export function proxy(request: NextRequest) {
  const bytes = new Uint8Array(16)
  crypto.getRandomValues(bytes)
  const nonce = btoa(String.fromCharCode(...bytes))
  const policy = contentSecurityPolicy(nonce, process.env.NODE_ENV === 'development')

  const requestHeaders = new Headers(request.headers)
  requestHeaders.set('x-nonce', nonce)
  requestHeaders.set('Content-Security-Policy', policy)
  const response = NextResponse.next({ request: { headers: requestHeaders } })
  response.headers.set('Content-Security-Policy', policy)
  return response
}

export const config = {
  // Pages only: static files carry no scripts of their own, and prefetches reuse the page's policy.
  matcher: [
    {
      source: '/((?!_next/static|_next/image|favicon.ico|icon.svg).*)',
      missing: [
        { type: 'header', key: 'next-router-prefetch' },
        { type: 'header', key: 'purpose', value: 'prefetch' },
      ],
    },
  ],
}
