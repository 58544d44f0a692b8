import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
/** The `loupe` command's entry, for tests that start it themselves. */
export const LOUPE_BIN = fileURLToPath(new URL('../../bin/loupe.js', import.meta.url));

export interface CliRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the built `loupe` (bin/loupe.js -> dist/) as a separate process, the way a user does. */
export function runLoupe(args: readonly string[]): CliRun {
  if (!existsSync(new URL('../../dist/main/cli/index.js', import.meta.url))) {
    throw new Error('dist/ is not built: run `npx tsc -b` before the CLI tests');
  }
  const result = spawnSync(process.execPath, [LOUPE_BIN, ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 170_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
