/**
 * Playwright global setup: make sure a production build of the current sources exists before any
 * worker starts an app server. Runs once per `playwright test`, so workers never race to build.
 */
import { buildIfStale } from '../../scripts/build-if-stale.mjs'

export default async function globalSetup(): Promise<void> {
  await buildIfStale()
}
