/**
 * `npm run server`: the sync server alone, for deployments that serve the app elsewhere.
 */
import { runServerProcess } from './process.ts'

await runServerProcess(undefined)
