// Types for build-server.mjs, for its TypeScript callers (tests).
export declare const REPO_ROOT: string
export declare const BUILD_DIR: string
export declare const SERVER_ENTRIES: readonly string[]
export declare function buildServer(options?: { root?: string }): Promise<string>
export declare function builtEntry(dir: string, entry: string): string
