/** @type {import('next').NextConfig} */
const nextConfig = {
  // The sync server (same process, see server/main.ts) imports yjs itself; keeping it external
  // here makes Next's server bundle load that very copy instead of a second one
  // ("Yjs was already imported", see yjs#438).
  serverExternalPackages: ['yjs', 'leveldown'],
  reactStrictMode: true,
  poweredByHeader: false,
  // `next dev` refuses hot reload from other hostnames; 127.0.0.1 is what tests and many users type.
  allowedDevOrigins: ['127.0.0.1', 'localhost'],
}

export default nextConfig
