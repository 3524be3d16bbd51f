/**
 * The web app's Content-Security-Policy, set per request with a nonce by proxy.ts. The headers
 * that need no nonce are set for every path in next.config.js.
 */

/**
 * Scripts run only with this request's nonce ('strict-dynamic' lets them load Next's chunks).
 * Styles allow inline attributes: ProseMirror draws collaborators' selections as decorations with
 * style attributes, and a style cannot run code. WebSockets go to our own origin only.
 */
export function contentSecurityPolicy(nonce: string, dev: boolean): string {
  return [
    `default-src 'self'`,
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${dev ? ` 'unsafe-eval'` : ''}`,
    `style-src 'self' 'unsafe-inline'`,
    `img-src 'self' data: blob:`,
    `font-src 'self' data:`,
    `connect-src 'self'`,
    `worker-src 'self' blob:`,
    `object-src 'none'`,
    `base-uri 'self'`,
    `form-action 'self'`,
    `frame-ancestors 'none'`,
  ].join('; ')
}
