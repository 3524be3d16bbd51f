// Types for build-if-stale.mjs, so TypeScript callers (Playwright global setup, unit tests) are checked.
export declare const REPO_ROOT: string
export declare const INPUT_DIRS: readonly string[]
export declare const INPUT_FILES: readonly string[]
export declare const STAMP_FILE: string
export declare function listInputs(root: string): string[]
export declare function hashInputs(root: string, files?: readonly string[]): string
export declare function readStamp(root: string): { hash: string; builtAt: string } | undefined
export declare function writeStamp(root: string, hash: string): void
export declare function staleReason(root: string, hash?: string): string | undefined
export declare function buildIfStale(options?: {
  root?: string
  force?: boolean
  log?: (line: string) => void
}): Promise<{ built: boolean; reason?: string }>
