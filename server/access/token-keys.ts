/**
 * The keys embedding apps' tokens are verified with (AUTH_JWT_SECRET, AUTH_JWT_PUBLIC_KEY), and
 * what a refused token is; without jose, which only a server configured for tokens loads
 * (tokens.ts), as the config's check of the key needs none of it.
 */
import { createPublicKey, type KeyObject } from 'node:crypto'

export type TokenKey = { kind: 'secret'; secret: string } | { kind: 'public-key'; pem: string }

/** A token that does not open this document: the socket is closed with 4401 and `reason`. */
export class TokenRefusal extends Error {
  override name = 'TokenRefusal'
}

/**
 * The public key and the one algorithm it verifies: never HS256 with the public key as its
 * secret (the classic confusion). Throws for a key that is not Ed25519 or RSA.
 */
export function publicKeyAndAlgorithm(pem: string): { key: KeyObject; algorithm: 'EdDSA' | 'RS256' } {
  const key = createPublicKey(pem)
  const type = key.asymmetricKeyType
  if (type === 'ed25519') return { key, algorithm: 'EdDSA' }
  if (type === 'rsa') return { key, algorithm: 'RS256' }
  throw new Error(`AUTH_JWT_PUBLIC_KEY must be an Ed25519 or RSA public key, got ${type ?? 'an unknown key'}`)
}
