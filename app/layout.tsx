import type { Metadata, Viewport } from 'next'
import { connection } from 'next/server'
import type { ReactNode } from 'react'
import './globals.css'

export const metadata: Metadata = {
  title: 'Chorus',
  description: 'Write together, in real time, on your own server.',
}

export const viewport: Viewport = {
  themeColor: '#1f2937',
}

export default async function RootLayout({ children }: { children: ReactNode }) {
  // Render every page per request: proxy.ts sets a Content-Security-Policy with a fresh nonce,
  // and Next can only put that nonce on its scripts in a page rendered for that request. A page
  // prerendered at build time would have its scripts blocked.
  await connection()
  return (
    <html lang="en">
      <body>{children}</body>
    </html>
  )
}
