import type { Metadata } from 'next'
import { notFound } from 'next/navigation'
import { DocumentPage } from '@/components/editor/DocumentPage'
import { isValidDocId } from '@/lib/doc-id'

export const metadata: Metadata = {
  // The real title lives in the document and is set in the browser once it has loaded.
  title: 'View only · Chorus',
  // The view link is the key to reading the document: keep it out of search engines and Referer
  // headers just like the edit link.
  robots: { index: false, follow: false },
  referrer: 'no-referrer',
}

/** A document opened through its view link: live, with presence, but read-only. */
export default async function Page({ params }: { params: Promise<{ viewId: string }> }) {
  const { viewId } = await params
  if (!isValidDocId(viewId)) notFound()
  return <DocumentPage mode={{ kind: 'view', viewId }} />
}
