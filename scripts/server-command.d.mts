// Types for server-command.mjs, for its TypeScript callers (tests, benchmark).
export declare const SERVER_NODE_FLAGS: readonly string[]
export declare function serverNodeArgs(entry: 'server/main.ts' | 'server/standalone.ts'): string[]
