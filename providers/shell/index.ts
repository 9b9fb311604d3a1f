import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sanitise } from '../shared/sanitise';
import type { DeliveryContext, DeliveryOutcome, ProviderDefinition } from '../types';
import { shellConfigSchema, type ShellConfig } from './config';
import { shellEnvironment } from './environment';
import { runShell, type ShellRun } from './run';
import { DEFAULT_SANDBOX, planSandbox, SandboxUnavailable, type SandboxPlan, type ShellSandboxOptions } from './sandbox';

export { shellConfigSchema, type ShellConfig } from './config';
export { flattenPayload, envKey, shellEnvironment } from './environment';
export { DEFAULT_SANDBOX, type ShellSandboxOptions } from './sandbox';

/** The exit code that asks for another attempt (sysexits EX_TEMPFAIL). */
const EXIT_TEMPFAIL = 75;
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
function outcomeFromShellRun(run: ShellRun, timeoutMs: number, secrets: string[]): DeliveryOutcome {
  const log = shellLog(run);
  const withLog = log ? { log } : {};
  if (run.spawnError) return { kind: 'permanent', errorCode: 'spawn_failed', error: sanitise(run.spawnError, secrets), ...withLog };
  if (run.timedOut) {
    return { kind: 'retryable', errorCode: 'command_timeout', error: `The command ran for more than ${timeoutMs} ms; its process group was killed`, ...withLog };
  }
  if (run.exitCode === 0) {
    const firstLine = sanitise(run.stdout.text().split('\n', 1)[0], secrets, MAX_EXTERNAL_ID_CHARS + 1).slice(0, MAX_EXTERNAL_ID_CHARS);
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

/** What a shell provider is built with: the sandbox and the server's own secrets (masked in every log and error). */
export interface ShellProviderOptions {
  sandbox?: ShellSandboxOptions;
  /** Secrets of the hub itself (master key, tokens, database password): masked wherever a command's output goes. */
  serverSecrets?: readonly string[];
}

/** Masks known secrets line by line (a log keeps its lines). */
function maskLog(log: string, secrets: string[]): string {
  return log.split('\n').map((line) => sanitise(line, secrets, 1_000_000)).join('\n');
}

/** The shell provider for this worker; see providers/shell/README.md. */
export function createShellProvider(options: ShellProviderOptions = {}): ProviderDefinition<ShellConfig> {
  const sandbox = options.sandbox ?? DEFAULT_SANDBOX;
  let plan: ((command: string) => SandboxPlan) | undefined;

  /** One attempt: a fresh HOME owned by the run-as user, the allow-listed environment, the command, then the outcome. */
  async function deliverShell(ctx: DeliveryContext<ShellConfig>): Promise<DeliveryOutcome> {
    const config = ctx.config;
    const secrets = [...Object.values(config.env ?? {}), ...(options.serverSecrets ?? [])];
    try {
      plan ??= planSandbox(sandbox);
    } catch (err) {
      if (!(err instanceof SandboxUnavailable)) throw err;
      return { kind: 'permanent', errorCode: 'shell_unavailable', error: sanitise(`The shell provider cannot run commands on this worker: ${err.message}`, secrets) };
    }
    const start = plan(config.command);
    const home = await fs.mkdtemp(path.join(os.tmpdir(), 'hub-shell-'));
    try {
      const payloadFile = path.join(home, 'payload.json');
      await fs.writeFile(payloadFile, JSON.stringify(ctx.event.payload), { mode: 0o600 });
      if (start.owner) {
        await fs.chown(home, start.owner.uid, start.owner.gid);
        await fs.chown(payloadFile, start.owner.uid, start.owner.gid);
      }
      const { env, skipped } = shellEnvironment(ctx, home, payloadFile, config.env);
      const run = await runShell({
        command: config.command,
        argv: start.argv,
        signalsAsExitCodes: start.namespaced,
        env,
        cwd: config.workingDirectory ?? home,
        timeoutMs: config.timeoutMs,
        maxOutputBytes: config.maxOutputBytes,
      });
      const outcome = outcomeFromShellRun(run, config.timeoutMs, secrets);
      const note = skipped.length
        ? `[hub] too large for the environment, left out: ${skipped.slice(0, 20).join(', ')} (the payload is in $EVENT_PAYLOAD_FILE)`
        : '';
      const log = [note, outcome.log ?? ''].filter(Boolean).join('\n');
      const { log: _raw, ...rest } = outcome;
      return log ? { ...rest, log: maskLog(log, secrets) } : rest;
    } finally {
      await fs.rm(home, { recursive: true, force: true }).catch(() => undefined);
    }
  }

  return {
    id: 'shell',
    displayName: 'Shell command',
    description:
      'Runs a command with /bin/sh -c for each event as an unprivileged user, with only the event (EVENT_*, PAYLOAD_*, ' +
      'EVENT_PAYLOAD) and its own variables in the environment, process and memory limits, a timeout that ends every ' +
      'process it started, and capped output in the delivery log. Exit 0 = delivered (first stdout line = external id), ' +
      '75 = retry, anything else = failed. Only admins may create, change or enable shell subscriptions.',
    configSchema: shellConfigSchema,
    followUps: false,
    adminOnly: true,
    deliver: deliverShell,
  };
}

/**
 * The shell provider with the default sandbox (commands as `nobody`). Off by default: the registry holds it only
 * when SHELL_PROVIDER_ENABLED=true, built by createShellProvider with the configured sandbox and server secrets.
 */
export const shellProvider: ProviderDefinition<ShellConfig> = createShellProvider();
