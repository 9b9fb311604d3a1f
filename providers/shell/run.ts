import { spawn } from 'node:child_process';
import os from 'node:os';

/** Collected output of one stream: the first bytes (`head`) or the last bytes (`tail`), and how many were dropped. */
export class CappedOutput {
  private chunks: Buffer[] = [];
  private kept = 0;
  dropped = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly keep: 'head' | 'tail',
  ) {}

  add(chunk: Buffer): void {
    if (this.keep === 'head') {
      const room = this.maxBytes - this.kept;
      if (room > 0) this.push(chunk.subarray(0, room));
      this.dropped += Math.max(0, chunk.length - Math.max(0, room));
      return;
    }
    this.push(chunk);
    while (this.kept > this.maxBytes) {
      const excess = this.kept - this.maxBytes;
      const first = this.chunks[0];
      if (first.length <= excess) {
        this.chunks.shift();
        this.kept -= first.length;
        this.dropped += first.length;
      } else {
        this.chunks[0] = first.subarray(excess);
        this.kept -= excess;
        this.dropped += excess;
      }
    }
  }

  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }

  private push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.kept += chunk.length;
  }
}

/** What a command did. */
export interface ShellRun {
  /** Exit code, or null when ended by a signal or never started. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** The timeout fired and the process group was killed. */
  timedOut: boolean;
  /** Why /bin/sh could not start (e.g. the working directory is missing). */
  spawnError?: string;
  stdout: CappedOutput;
  stderr: CappedOutput;
  durationMs: number;
}

/** Options of one run. */
export interface ShellRunOptions {
  command: string;
  /** What to spawn instead of `/bin/sh -c command` (the sandbox's wrappers ending in it). */
  argv?: string[];
  /** The argv ends in an init that reports a command killed by signal n as exit code 128+n. */
  signalsAsExitCodes?: boolean;
  env: Record<string, string>;
  cwd: string;
  timeoutMs: number;
  maxOutputBytes: number;
}

/** How long the pipes may stay open after the shell exited (a process that left the group holds them). */
const DRAIN_AFTER_EXIT_MS = 1_000;

/** 128+n from the namespace's init: the command was killed by signal n. */
function asSignal(code: number | null, signal: NodeJS.Signals | null): { code: number | null; signal: NodeJS.Signals | null } {
  if (code === null || code <= 128) return { code, signal };
  const name = Object.entries(os.constants.signals).find(([, n]) => n === code - 128)?.[0] as NodeJS.Signals | undefined;
  return name ? { code: null, signal: name } : { code, signal };
}

/** Signals the whole process group; a group that is already gone is fine. */
function killGroup(pid: number | undefined): void {
  if (!pid) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // ESRCH: nothing left to kill
  }
}

/**
 * Runs `/bin/sh -c command` as the leader of a new process group, stdin closed, with exactly `env`.
 * On timeout the group is killed (background children included); after the shell exits the group is
 * killed too, so nothing a delivery starts outlives its attempt (in the sandbox's PID namespace, not even
 * a process that made its own session with setsid). stdout keeps its first bytes (the external id is its first line), stderr its
 * last (where errors are). Never rejects.
 */
export function runShell(opts: ShellRunOptions): Promise<ShellRun> {
  const startedAt = Date.now();
  const stdout = new CappedOutput(opts.maxOutputBytes, 'head');
  const stderr = new CappedOutput(opts.maxOutputBytes, 'tail');
  return new Promise<ShellRun>((resolve) => {
    let timedOut = false;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let done = false;
    const finish = (spawnError?: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearTimeout(drainTimer);
      resolve({
        exitCode: exit?.code ?? null,
        signal: exit?.signal ?? null,
        timedOut,
        ...(spawnError ? { spawnError } : {}),
        stdout,
        stderr,
        durationMs: Date.now() - startedAt,
      });
    };
    let drainTimer: NodeJS.Timeout | undefined;

    const [file, ...args] = opts.argv ?? ['/bin/sh', '-c', opts.command];
    const child = spawn(file, args, {
      cwd: opts.cwd,
      env: opts.env,
      detached: true, // its own process group, so the group can be killed as one
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid);
    }, opts.timeoutMs);

    child.stdout.on('data', (c: Buffer) => stdout.add(c));
    child.stderr.on('data', (c: Buffer) => stderr.add(c));
    child.on('error', (err: NodeJS.ErrnoException) => {
      finish(`could not start /bin/sh in ${opts.cwd}: ${err.code ?? err.message}`);
    });
    child.on('exit', (code, signal) => {
      exit = opts.signalsAsExitCodes ? asSignal(code, signal) : { code, signal };
      killGroup(child.pid); // background jobs the command left behind
      drainTimer = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        finish();
      }, DRAIN_AFTER_EXIT_MS);
    });
    child.on('close', () => finish());
  });
}
