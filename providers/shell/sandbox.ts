import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { SHELL_PATH } from './environment';

/**
 * Who a command runs as and within which limits (providers/shell/README.md "Isolation"). A root worker runs
 * each command as `runAsUser` (default `nobody`) in a PID namespace of its own: it cannot see, signal or read
 * the hub's processes (`/proc/<pid>/environ`), and every process it starts, `setsid` ones included, ends with
 * the attempt. A worker that is not root cannot switch users: it refuses to run commands unless `runAsUser`
 * is the worker's own user, which runs them as they are (with the limits) and is logged as a warning at start.
 */
export interface ShellSandboxOptions {
  /** A user name, a uid, or `uid:gid`. */
  runAsUser: string;
  /** RLIMIT_NPROC: processes the run-as user may have at once (all its attempts together). */
  maxProcesses: number;
  /** RLIMIT_AS of each process of a command, in bytes. */
  maxMemoryBytes: number;
}

/** The defaults of SHELL_RUN_AS_USER, SHELL_MAX_PROCESSES and SHELL_MAX_MEMORY_MB. */
export const DEFAULT_SANDBOX: ShellSandboxOptions = Object.freeze({ runAsUser: 'nobody', maxProcesses: 64, maxMemoryBytes: 1024 * 1024 * 1024 });

/** How a command is started: the argv to spawn, and whether exit codes above 128 are signals (the namespace's init reports them so). */
export interface SandboxPlan {
  argv: string[];
  /** Owner given to the attempt's HOME and payload file. */
  owner?: { uid: number; gid: number };
  /** The command runs under an init of its own in a PID namespace: 128+n from it means "killed by signal n". */
  namespaced: boolean;
}

/** Why no command may run here: the worker cannot become the run-as user. */
export class SandboxUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SandboxUnavailable';
  }
}

/** uid and gid of `spec`: `1000`, `1000:1000` or a user name looked up with getent. */
export function resolveUser(spec: string): { uid: number; gid: number } {
  const numeric = /^(\d+)(?::(\d+))?$/.exec(spec);
  if (numeric) return { uid: Number(numeric[1]), gid: Number(numeric[2] ?? numeric[1]) };
  if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(spec)) throw new SandboxUnavailable(`SHELL_RUN_AS_USER "${spec}" is not a user name`);
  let line: string;
  try {
    line = execFileSync('getent', ['passwd', spec], { encoding: 'utf8', env: { PATH: SHELL_PATH }, timeout: 5_000 }).trim();
  } catch {
    throw new SandboxUnavailable(`user "${spec}" (SHELL_RUN_AS_USER) does not exist on this worker`);
  }
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

function which(name: string): string | undefined {
  return SHELL_PATH.split(':').map((d) => path.join(d, name)).find((p) => fs.existsSync(p));
}

/** Whether this process may make a PID namespace with its own /proc (root, and not forbidden by the container). */
function canUnshare(unshare: string): boolean {
  const r = spawnSync(unshare, ['--pid', '--fork', '--kill-child', '--mount-proc', '--', '/bin/true'], { env: { PATH: SHELL_PATH }, timeout: 10_000, stdio: 'ignore' });
  return r.status === 0;
}

/**
 * Builds how commands start on this worker, once (the first attempt): checks the user and the tools.
 * Throws SandboxUnavailable when commands must not run here (not root, another run-as user).
 */
export function planSandbox(options: ShellSandboxOptions, currentUid: number = process.getuid?.() ?? 0): (command: string) => SandboxPlan {
  const user = resolveUser(options.runAsUser);
  const prlimit = which('prlimit');
  if (!prlimit) throw new SandboxUnavailable('prlimit (util-linux) is not installed on this worker');
  const limits = [prlimit, `--nproc=${options.maxProcesses}`, `--as=${options.maxMemoryBytes}`, '--core=0', '--'];
  if (currentUid !== 0) {
    if (user.uid !== currentUid) {
      throw new SandboxUnavailable(
        `the worker runs as uid ${currentUid} and cannot run commands as ${options.runAsUser} (uid ${user.uid}); ` +
          'run the worker as root, or set SHELL_RUN_AS_USER to its own user to run commands unisolated',
      );
    }
    return (command) => ({ argv: [...limits, '/bin/sh', '-c', command], namespaced: false });
  }
  const setpriv = which('setpriv');
  if (!setpriv) throw new SandboxUnavailable('setpriv (util-linux) is not installed on this worker');
  const drop = user.uid === 0 ? [] : [setpriv, `--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--no-new-privs', '--'];
  // once, so a container that forbids a step says so here instead of failing every command with exit 1
  const trial = spawnSync(limits[0], [...limits.slice(1), ...drop, '/bin/true'], { env: { PATH: SHELL_PATH }, timeout: 10_000, encoding: 'utf8' });
  if (trial.status !== 0) {
    throw new SandboxUnavailable(`could not start a command as ${options.runAsUser} with its limits: ${(trial.stderr || trial.error?.message || `exit ${trial.status}`).trim().split('\n')[0]}`);
  }
  const unshare = which('unshare');
  if (!unshare || !canUnshare(unshare)) {
    // no PID namespace (a container without CAP_SYS_ADMIN): the user still changes; the process group ends with the attempt
    return (command) => ({ argv: [...limits, ...drop, '/bin/sh', '-c', command], owner: user, namespaced: false });
  }
  // PID 1 of the namespace is a small init: a shell that reaps orphans, runs the command and exits with its status
  // (128+n when it was killed by signal n). When it exits, the kernel kills every process left in the namespace;
  // --kill-child ends it when unshare is killed. Its own stderr goes to /dev/null (dash reports "Killed" there),
  // the command's to the real stderr (fd 3).
  const ns = [unshare, '--pid', '--fork', '--kill-child', '--mount-proc', '--'];
  const init = 'exec 3>&2; /bin/sh -c "exec 2>&3 3>&-; exec /bin/sh -c \\"\\$1\\"" hub-shell "$1" 2>/dev/null; exit $?';
  return (command) => ({ argv: [...ns, ...limits, ...drop, '/bin/sh', '-c', init, 'hub-init', command], owner: user, namespaced: true });
}
