import type { Metadata } from 'next'
import Link from 'next/link'
import { ChorusMark } from '@/components/ChorusMark'

export const metadata: Metadata = { title: 'Not found · Chorus' }

export default function NotFound() {
  return (
    <main className="not-found">
      <ChorusMark size={40} />
      <h1>Document not found</h1>
      <p>This link does not point to a Chorus document. Check that it was copied completely.</p>
      <Link href="/" className="button button--primary">
        Go to your documents
      </Link>
    </main>
  )
}
