import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sanitise } from '../shared/sanitise';
import type { DeliveryContext, DeliveryOutcome, ProviderDefinition } from '../types';
import { shellConfigSchema, type ShellConfig } from './config';
import { shellEnvironment } from './environment';
import { runShell, type ShellRun } from './run';

export { shellConfigSchema, type ShellConfig, MAX_SHELL_TIMEOUT_MS } from './config';
export { flattenPayload, envKey, shellEnvironment } from './environment';

/** The exit code that asks for another attempt (sysexits EX_TEMPFAIL). */
export const EXIT_TEMPFAIL = 75;
/** Longest external id taken from stdout's first line. */
const MAX_EXTERNAL_ID_CHARS = 200;
/** Characters of stderr (or stdout) quoted in an error. */
const ERROR_TAIL_CHARS = 500;
/** Characters of each stream kept in the attempt log (the log's own cap is 8000). */
const LOG_STREAM_CHARS = 3800;

/**
 * How a run becomes an outcome:
 * exit 0 -> success (external id = first line of stdout, trimmed, at most 200 characters, none if empty);
 * exit 75 (EX_TEMPFAIL) -> retryable; any other exit code -> permanent (a command says "try again" on
 * purpose, e.g. `curl -fsS ... || exit 75`, so a typo or a failing script does not retry for days);
 * timeout -> retryable (commands mostly wait on the network); killed by a signal that was not ours
 * (e.g. the OOM killer) -> retryable; /bin/sh could not start (missing working directory) -> permanent.
 */
export function outcomeFromShellRun(run: ShellRun, timeoutMs: number, secrets: string[]): DeliveryOutcome {
  const log = shellLog(run);
  const withLog = log ? { log } : {};
  if (run.spawnError) return { kind: 'permanent', errorCode: 'spawn_failed', error: sanitise(run.spawnError, secrets), ...withLog };
  if (run.timedOut) {
    return { kind: 'retryable', errorCode: 'command_timeout', error: `The command ran for more than ${timeoutMs} ms; its process group was killed`, ...withLog };
  }
  if (run.exitCode === 0) {
    const firstLine = run.stdout.text().split('\n', 1)[0].trim().slice(0, MAX_EXTERNAL_ID_CHARS);
    return { kind: 'success', ...(firstLine ? { externalId: firstLine } : {}), ...withLog };
  }
  const tail = lastChars(run.stderr.text().trim() || run.stdout.text().trim(), ERROR_TAIL_CHARS);
  const detail = tail ? `: ${tail}` : '';
  if (run.exitCode === null) {
    return { kind: 'retryable', errorCode: 'command_killed', error: sanitise(`The command was killed by ${run.signal ?? 'a signal'}${detail}`, secrets), ...withLog };
  }
  const error = sanitise(`The command exited with code ${run.exitCode}${detail}`, secrets);
  return run.exitCode === EXIT_TEMPFAIL
    ? { kind: 'retryable', errorCode: 'exit_75', error, ...withLog }
    : { kind: 'permanent', errorCode: `exit_${run.exitCode}`, error, ...withLog };
}

function lastChars(text: string, max: number): string {
  return text.length > max ? `…${text.slice(text.length - max + 1)}` : text;
}

/** The attempt log: the start of stdout and the end of stderr, with what was dropped. */
function shellLog(run: ShellRun): string {
  const parts: string[] = [];
  const out = run.stdout.text().replace(/\n$/, '');
  const err = run.stderr.text().replace(/\n$/, '');
  if (out) {
    const cut = out.length > LOG_STREAM_CHARS;
    parts.push(`[stdout]\n${cut ? `${out.slice(0, LOG_STREAM_CHARS)}…` : out}`);
    if (cut || run.stdout.dropped) parts.push(`[hub] stdout continues beyond what is kept here (${run.stdout.dropped} bytes were not captured)`);
  }
  if (err) {
    const cut = err.length > LOG_STREAM_CHARS;
    parts.push(`[stderr]\n${cut ? lastChars(err, LOG_STREAM_CHARS) : err}`);
    if (cut || run.stderr.dropped) parts.push(`[hub] stderr began before what is kept here (${run.stderr.dropped} bytes were not captured)`);
  }
  return parts.join('\n');
}

/** One attempt: a fresh HOME, the allow-listed environment, the command, then the outcome. */
async function deliverShell(ctx: DeliveryContext<ShellConfig>): Promise<DeliveryOutcome> {
  const config = ctx.config;
  const secrets = Object.values(config.env ?? {});
  const home = await fs.mkdtemp(path.join(os.tmpdir(), 'hub-shell-'));
  try {
    const payloadFile = path.join(home, 'payload.json');
    await fs.writeFile(payloadFile, JSON.stringify(ctx.event.payload), { mode: 0o600 });
    const { env, skipped } = shellEnvironment(ctx, home, payloadFile, config.env);
    const run = await runShell({
      command: config.command,
      env,
      cwd: config.workingDirectory ?? home,
      timeoutMs: config.timeoutMs,
      maxOutputBytes: config.maxOutputBytes,
    });
    const outcome = outcomeFromShellRun(run, config.timeoutMs, secrets);
    if (skipped.length === 0) return outcome;
    const note = `[hub] too large for the environment, left out: ${skipped.slice(0, 20).join(', ')} (the payload is in $EVENT_PAYLOAD_FILE)`;
    return { ...outcome, log: outcome.log ? `${note}\n${outcome.log}` : note };
  } finally {
    await fs.rm(home, { recursive: true, force: true }).catch(() => undefined);
  }
}

/**
 * The shell provider: runs an admin's command per event. Off by default: the lead registers it only
 * when SHELL_PROVIDER_ENABLED=true, because a command runs as the service's OS user.
 */
export const shellProvider: ProviderDefinition<ShellConfig> = {
  id: 'shell',
  displayName: 'Shell command',
  description:
    'Runs a command with /bin/sh -c for each event, with only the event (EVENT_*, PAYLOAD_*, EVENT_PAYLOAD) and ' +
    'its own variables in the environment, a timeout that kills the whole process group, and capped output ' +
    'in the delivery log. Exit 0 = delivered (first stdout line = external id), 75 = retry, anything else = failed.',
  configSchema: shellConfigSchema,
  followUps: false,
  deliver: deliverShell,
};
