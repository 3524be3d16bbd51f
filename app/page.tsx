import { ChorusMark } from '@/components/ChorusMark'
import { NewDocumentButton } from '@/components/home/NewDocumentButton'
import { RecentDocuments } from '@/components/home/RecentDocuments'
import { AccountBar } from '@/components/home/AccountBar'
import { SharedDocuments } from '@/components/home/SharedDocuments'

export default function HomePage() {
  return (
    <main className="home">
      <div className="home__account">
        <AccountBar />
      </div>
      <header className="home__hero">
        <div className="home__brand">
          <ChorusMark size={40} />
          <h1 className="home__title">Chorus</h1>
        </div>
        <p className="home__tagline">Write together, in real time. Share a link and start typing.</p>
        <NewDocumentButton />
      </header>
      <SharedDocuments />
      <RecentDocuments />
    </main>
  )
}
