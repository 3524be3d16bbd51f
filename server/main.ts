/**
 * `npm start` / `npm run dev`: the Next.js app and the sync server on one port.
 */
export {}

const dev = process.argv.includes('--dev')
// React and Next pick their production or development builds from NODE_ENV; set it before they load.
const env = process.env as Record<string, string | undefined>
env.NODE_ENV ??= dev ? 'development' : 'production'

const { runServerProcess } = await import('./process.ts')
await runServerProcess({ dev })
