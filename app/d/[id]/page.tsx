import type { Metadata } from 'next'
import { notFound } from 'next/navigation'
import { DocumentPage } from '@/components/editor/DocumentPage'
import { isValidDocId } from '@/lib/doc-id'

export const metadata: Metadata = {
  // The real title lives in the document and is set in the browser once it has loaded.
  title: 'Untitled · Chorus',
  // The link is the only key to the document: keep it out of search engines and Referer headers.
  robots: { index: false, follow: false },
  referrer: 'no-referrer',
}

export default async function Page({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params
  if (!isValidDocId(id)) notFound()
  return <DocumentPage mode={{ kind: 'edit', docId: id }} />
}
