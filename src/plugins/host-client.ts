import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PluginHostFailure } from '../../providers/remote';
import type { GuardedHttpClient, OutboundRequest } from '../../providers/types';

export { isPluginHostFailure, PluginHostFailure } from '../../providers/remote';
import {
  PLUGIN_PROTOCOL_VERSION,
  type HostToHub,
  type HttpDoneMessage,
  type HubToHost,
  type PluginOp,
  type PluginOps,
  type ProviderDescription,
} from './protocol';

const TOOL_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** Largest request body a plugin may ask the hub to send (the guarded client caps responses). */
const MAX_PLUGIN_REQUEST_BYTES = 8 * 1024 * 1024;

/** Settings of the plugin hosts of this process (Config['pluginHost']). */
export interface PluginHostSettings {
  runAsUser: string;
  maxMemoryMb: number;
  callTimeoutMs: number;
  maxCrashes: number;
  crashWindowMs: number;
}

/** The command a host starts with on this machine, worked out once per process. */
export interface HostLaunch {
  /** Wrappers before `node` (unshare, prlimit, setpriv). */
  prefix: string[];
  /** Who the plugin runs as, for files it must read. */
  owner?: { uid: number; gid: number };
  /** What is and is not isolated, for the log. */
  isolation: { user: string; network: 'namespace' | 'refused in the host only'; memoryMb: number };
}

function which(name: string): string | undefined {
  return TOOL_PATH.split(':').map((d) => path.join(d, name)).find((p) => fs.existsSync(p));
}

function resolveUser(spec: string): { uid: number; gid: number } {
  const numeric = /^(\d+)(?::(\d+))?$/.exec(spec);
  if (numeric) return { uid: Number(numeric[1]), gid: Number(numeric[2] ?? numeric[1]) };
  let line: string;
  try {
    line = execFileSync('getent', ['passwd', spec], { encoding: 'utf8', env: { PATH: TOOL_PATH }, timeout: 5_000 }).trim();
  } catch {
    throw new PluginHostFailure(`user "${spec}" (PLUGIN_RUN_AS_USER) does not exist here`);
  }
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

let launch: HostLaunch | undefined;

/** Niceness of plugin hosts (the hub runs at 0). */
const HOST_NICENESS = 19;

/**
 * How hosts start: as root, `unshare --net` (no network at all), `prlimit` (address space, no core dumps)
 * and `setpriv` to PLUGIN_RUN_AS_USER without capabilities or new privileges. Not root: only when
 * PLUGIN_RUN_AS_USER is this process' own user, with the in-host refusals and the heap limit (a plugin can
 * then read this process' /proc entries: its environment). Throws PluginHostFailure otherwise.
 */
export function hostLaunch(settings: PluginHostSettings, currentUid: number = process.getuid?.() ?? 0): HostLaunch {
  if (launch) return launch;
  const user = resolveUser(settings.runAsUser);
  const prlimit = which('prlimit');
  // the heap is bounded by --max-old-space-size; RLIMIT_DATA bounds the rest (buffers, native memory). Not
  // RLIMIT_AS: V8 and WebAssembly reserve far more address space than they use, and fail under it
  const limits = prlimit ? [prlimit, `--data=${(settings.maxMemoryMb + 512) * 1024 * 1024}`, '--core=0', '--'] : [];
  // a plugin spinning until its deadline competes with the hub for the CPU: it gets less of it
  const nice = which('nice');
  if (nice) limits.unshift(nice, '-n', String(HOST_NICENESS));
  if (currentUid !== 0) {
    if (user.uid !== currentUid) {
      throw new PluginHostFailure(
        `this process runs as uid ${currentUid} and cannot run plugins as ${settings.runAsUser} (uid ${user.uid}); run the hub as root, ` +
          "or set PLUGIN_RUN_AS_USER to its own user to run plugins without user isolation (they can then read this process' environment)",
      );
    }
    launch = { prefix: limits, isolation: { user: `${settings.runAsUser} (this process' own user)`, network: 'refused in the host only', memoryMb: settings.maxMemoryMb } };
    return launch;
  }
  const setpriv = which('setpriv');
  if (!setpriv) throw new PluginHostFailure('setpriv (util-linux) is not installed: plugins cannot run as another user');
  const unshare = which('unshare');
  const netns = unshare && spawnSync(unshare, ['--net', '--', '/bin/true'], { env: { PATH: TOOL_PATH }, timeout: 10_000, stdio: 'ignore' }).status === 0;
  const drop = user.uid === 0 ? [] : [setpriv, `--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--no-new-privs', '--pdeathsig=KILL', '--'];
  launch = {
    prefix: [...(netns ? [unshare!, '--net', '--'] : []), ...limits, ...drop],
    owner: user,
    isolation: { user: settings.runAsUser, network: netns ? 'namespace' : 'refused in the host only', memoryMb: settings.maxMemoryMb },
  };
  return launch;
}

/**
 * How long a host may take to start and load its plugin: a Node start and the SDK (zod) take a second or
 * two on a loaded machine, more than a call's deadline may allow.
 */
export const HOST_LOAD_TIMEOUT_MS = 20_000;

/** The host's entry file (compiled beside this one). */
const HOST_ENTRY = path.join(__dirname, 'host.js');
/** The host and all it loads in one file (scripts/bundle-plugin-host.mjs), for a host that runs as another user. */
const HOST_BUNDLE = path.resolve(__dirname, '..', '..', 'plugin-host.js');

/**
 * The entry a host started as another user runs: the one-file bundle, copied (0644, owned by this process)
 * beside the plugin's read-only run folder (RemotePlugin.runFolder, in the temp folder), because that user
 * may not be able to enter the project's folder at all (a checkout under /root or in a 0700 temp folder).
 * Removed with the run folder.
 */
function stagedEntry(dir: string): string {
  if (!fs.existsSync(HOST_BUNDLE)) throw new PluginHostFailure(`the plugin host bundle ${HOST_BUNDLE} is missing: run the build (npm run build)`);
  const entry = path.join(path.dirname(dir), 'plugin-host.js');
  try {
    if (!fs.existsSync(entry)) {
      fs.copyFileSync(HOST_BUNDLE, entry);
      fs.chmodSync(entry, 0o644);
    }
  } catch (err) {
    throw new PluginHostFailure(`could not stage the plugin host: ${(err as Error).message}`);
  }
  return entry;
}

type Pending = { resolve(v: unknown): void; reject(e: Error): void; timer: NodeJS.Timeout; http?: GuardedHttpClient };

/** One running host process: calls by id, each with a deadline; the first missed deadline kills it. */
export class HostProcess {
  private readonly child: ChildProcess;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private hello?: { resolve(p: ProviderDescription[]): void; reject(e: Error): void };
  exited = false;
  /** Set by stop(): an exit that is not a crash. */
  stopping = false;
  /** Why it ended when it was not stopped: exit code, signal or missed deadline. */
  private endReason?: string;

  constructor(
    dir: string,
    private readonly settings: PluginHostSettings,
    launchPlan: HostLaunch,
    private readonly onExit: (reason: string, stopped: boolean) => void,
  ) {
    const [cmd, ...pre] = [...launchPlan.prefix, process.execPath];
    const other = launchPlan.owner !== undefined && launchPlan.owner.uid !== (process.getuid?.() ?? 0);
    const entry = other ? stagedEntry(dir) : HOST_ENTRY;
    this.child = spawn(cmd, [...pre, `--max-old-space-size=${settings.maxMemoryMb}`, '--disallow-code-generation-from-strings', entry, dir], {
      cwd: dir,
      // nothing of the hub's environment: no secret, no NODE_OPTIONS
      env: { PATH: '/usr/bin:/bin', NODE_ENV: 'production' },
      stdio: ['ignore', 'ignore', process.env.IHUB_PLUGIN_HOST_STDERR === '1' ? 'inherit' : 'ignore', 'ipc'],
      serialization: 'json',
    });
    this.child.on('message', (m: HostToHub) => this.onMessage(m));
    this.child.on('error', (err) => this.end(`could not start: ${err.message}`));
    this.child.on('exit', (code, signal) => this.end(this.endReason ?? (signal ? `was killed (${signal}${signal === 'SIGABRT' || signal === 'SIGSEGV' ? ': out of memory?' : ''})` : `exited (code ${code})`)));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Resolves with the plugin's providers once it loaded; rejects when it fails to load or never says. */
  ready(timeoutMs = Math.max(HOST_LOAD_TIMEOUT_MS, this.settings.callTimeoutMs)): Promise<ProviderDescription[]> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.kill(`did not load within ${timeoutMs} ms`), timeoutMs);
      this.hello = {
        resolve: (p) => (clearTimeout(timer), resolve(p)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      };
    });
  }

  call<K extends PluginOp>(op: K, args: PluginOps[K]['args'], http?: GuardedHttpClient, timeoutMs = this.settings.callTimeoutMs): Promise<PluginOps[K]['value']> {
    if (this.exited) return Promise.reject(new PluginHostFailure(`the plugin host ${this.endReason ?? 'ended'}`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.kill(`did not answer ${op} within ${timeoutMs} ms`), timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer, http });
      this.post({ t: 'call', id, op, args });
    });
  }

  /** Ends it on purpose (uninstall, stop, a load error): not a crash. */
  stop(): void {
    this.stopping = true;
    this.kill('was stopped');
  }

  /** Ends it now (a missed deadline: a crash); its calls fail. */
  kill(reason?: string): void {
    if (reason && !this.endReason) this.endReason = reason;
    if (!this.exited) this.child.kill('SIGKILL');
  }

  private post(m: HubToHost): void {
    if (this.exited || !this.child.connected) return;
    try {
      this.child.send(m);
    } catch {
      // the channel closed: the exit fails what is pending
    }
  }

  private onMessage(m: HostToHub): void {
    if (!m || typeof m !== 'object') return;
    if (m.t === 'hello') {
      const h = this.hello;
      this.hello = undefined;
      if (!h) return;
      if (m.v !== PLUGIN_PROTOCOL_VERSION) h.reject(new Error(`the plugin host speaks protocol ${m.v}, not ${PLUGIN_PROTOCOL_VERSION}`));
      else if ('error' in m) h.reject(new Error(String(m.error)));
      else h.resolve(m.providers);
    } else if (m.t === 'result') {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      clearTimeout(p.timer);
      if (m.ok) p.resolve(m.value);
      else p.reject(Object.assign(new Error(String(m.error)), m.optionsQuery ? { optionsQuery: m.optionsQuery } : {}));
    } else if (m.t === 'http') {
      void this.sendFor(m.id, m.call, m.req);
    }
  }

  /** A request the plugin asked for, sent by the hub's guarded client of the call it belongs to. */
  private async sendFor(id: number, call: number, req: { method: OutboundRequest['method']; url: string; headers?: Record<string, string>; body?: string; bodyBase64?: string; timeoutMs?: number }): Promise<void> {
    const http = this.pending.get(call)?.http;
    let done: HttpDoneMessage;
    try {
      if (!http) throw new Error('no request can be sent outside a call that sends');
      const body = req.bodyBase64 !== undefined ? Buffer.from(req.bodyBase64, 'base64') : req.body;
      if (body !== undefined && Buffer.byteLength(body) > MAX_PLUGIN_REQUEST_BYTES) throw new Error(`the request body is over ${MAX_PLUGIN_REQUEST_BYTES} bytes`);
      const headers = req.headers && typeof req.headers === 'object' ? Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [String(k), String(v)])) : undefined;
      const res = await http.request({ method: req.method, url: String(req.url), headers, body, timeoutMs: typeof req.timeoutMs === 'number' ? req.timeoutMs : undefined });
      done = { t: 'http-done', id, ok: true, res: { status: res.status, headers: res.headers, body: res.body, durationMs: res.durationMs } };
    } catch (err) {
      const e = err as { message?: string; code?: string; name?: string };
      done = { t: 'http-done', id, ok: false, error: { message: String(e.message ?? err), code: e.code, name: e.name } };
    }
    this.post(done);
  }

  private end(reason: string): void {
    if (this.exited) return;
    this.exited = true;
    this.endReason ??= reason;
    const failure = new PluginHostFailure(`the plugin host ${this.endReason}`);
    this.hello?.reject(failure);
    this.hello = undefined;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(failure);
    }
    this.pending.clear();
    this.onExit(this.endReason, this.stopping);
  }
}
