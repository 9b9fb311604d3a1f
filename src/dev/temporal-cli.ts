import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { findOnPath, isExecutable } from './go-tools';

/** The Temporal CLI version we build when none is installed (newer tags refuse `go install`). */
const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';

/**
 * Finds the `temporal` binary: `TEMPORAL_CLI_PATH`, then PATH, then the project's `.tools/bin`;
 * builds it there with `go install` when none is found. Throws a how-to message when Go is missing too.
 */
export function ensureTemporalCli(projectRoot: string, log: (line: string) => void = () => undefined): string {
  const explicit = process.env.TEMPORAL_CLI_PATH;
  if (explicit) {
    if (!isExecutable(explicit)) throw new Error(`TEMPORAL_CLI_PATH=${explicit} is not an executable file`);
    return explicit;
  }
  const cached = path.join(projectRoot, '.tools', 'bin', 'temporal');
  if (isExecutable(cached)) return cached;
  const onPath = findOnPath('temporal');
  if (onPath) return onPath;
  const go = findOnPath('go');
  if (!go) {
    throw new Error(
      'The Temporal CLI (`temporal`) was not found and Go is not installed to build it.\n' +
        'Install it from https://docs.temporal.io/cli (or `brew install temporal`), put it on PATH or set ' +
        'TEMPORAL_CLI_PATH, or install Go and run this command again.',
    );
  }
  log(`Building the Temporal CLI (${TEMPORAL_CLI_MODULE}) into .tools/bin; this takes a few minutes once.`);
  const result = spawnSync(go, ['install', TEMPORAL_CLI_MODULE], {
    env: { ...process.env, GOBIN: path.dirname(cached), GOFLAGS: '-mod=mod' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (result.status !== 0 || !isExecutable(cached)) {
    throw new Error(`go install ${TEMPORAL_CLI_MODULE} failed (exit ${result.status}); see the output above.`);
  }
  return cached;
}
