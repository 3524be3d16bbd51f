// Types for server-command.mjs, for its TypeScript callers (tests, benchmark).
export type ServerEntry = 'server/main.ts' | 'server/standalone.ts'
export declare const SERVER_NODE_FLAGS: readonly string[]
export declare function serverNodeArgs(entry: ServerEntry, options?: { root?: string; sourceMaps?: boolean }): Promise<string[]>
