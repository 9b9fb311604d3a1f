// Child processes of the benchmark (baselines) and CPU accounting of every process it started.
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** Linux clock ticks per second (USER_HZ); 100 on every mainstream kernel. */
const CLK_TCK = 100;

/** One baseline process (a compiled file in dist/bench), started with fork and an IPC channel. */
export class BenchChild {
  child?: ChildProcess;
  readonly output: string[] = [];
  peakRssBytes = 0;
  private readonly waiters = new Map<string, (msg: any) => void>();
  private seq = 0;

  constructor(readonly file: string) {}

  /** Forks it and resolves on its `{type:'ready'}` message (or rejects when it exits first). */
  start(env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<void> {
    this.child = fork(path.join(__dirname, '..', this.file), [], { env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    const keep = (d: Buffer) => {
      this.output.push(d.toString());
      if (this.output.length > 500) this.output.splice(0, 250);
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    this.child.on('message', (msg: any) => {
      const key = msg?.seq !== undefined ? `${msg.type}#${msg.seq}` : msg?.type;
      const w = this.waiters.get(key);
      if (w) {
        this.waiters.delete(key);
        w(msg);
      }
    });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.file} not ready after ${timeoutMs} ms:\n${this.output.join('').slice(-2000)}`)), timeoutMs);
      this.waiters.set('ready', () => {
        clearTimeout(timer);
        resolve();
      });
      this.child!.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${this.file} exited with ${code}:\n${this.output.join('').slice(-2000)}`));
      });
    });
  }

  /** Sends `{type, seq, ...extra}` and resolves with the child's reply carrying the same type and seq. */
  ask<T = any>(type: string, extra: Record<string, unknown> = {}, timeoutMs = 60_000): Promise<T> {
    const seq = ++this.seq;
    const key = `${type}#${seq}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(key);
        reject(new Error(`${this.file}: no answer to ${type}`));
      }, timeoutMs);
      this.waiters.set(key, (m) => {
        clearTimeout(timer);
        resolve(m as T);
      });
      this.child!.send({ ...extra, type, seq });
    });
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Peak RSS so far (VmHWM), in bytes. */
  samplePeakRss(): number {
    if (this.pid) this.peakRssBytes = Math.max(this.peakRssBytes, peakRssOf(this.pid));
    return this.peakRssBytes;
  }

  /** SIGTERM, then SIGKILL after 15 s. */
  stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    this.samplePeakRss();
    return new Promise((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill('SIGTERM');
    });
  }
}

/** VmHWM of a process in bytes (0 when it is gone). */
export function peakRssOf(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

interface ProcStat {
  pid: number;
  ppid: number;
  comm: string;
  ticks: number;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm may hold spaces and parentheses: it ends at the last ')'
    const close = s.lastIndexOf(')');
    const comm = s.slice(s.indexOf('(') + 1, close);
    const f = s.slice(close + 2).split(' ');
    // fields after comm: state(0) ppid(1) ... utime(11) stime(12)
    return { pid, ppid: Number(f[1]), comm, ticks: Number(f[11]) + Number(f[12]) };
  } catch {
    return undefined;
  }
}

/** CPU ticks of this process and every descendant, by pid. */
function snapshotTree(): Map<number, ProcStat> {
  const all = new Map<number, ProcStat>();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const st = readStat(Number(name));
    if (st) all.set(st.pid, st);
  }
  const children = new Map<number, number[]>();
  for (const st of all.values()) children.set(st.ppid, [...(children.get(st.ppid) ?? []), st.pid]);
  const out = new Map<number, ProcStat>();
  const stack = [process.pid];
  while (stack.length) {
    const pid = stack.pop()!;
    const st = all.get(pid);
    if (st) out.set(pid, st);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}

/**
 * Measures CPU seconds per component over a phase: the named pids (and their descendants), PostgreSQL
 * and Temporal by process name, and the benchmark process itself (load generator + receiver).
 */
export class CpuMeter {
  private before = new Map<number, ProcStat>();
  private startedAt = 0;

  constructor(private readonly named: () => Record<string, number | undefined>) {}

  start(): void {
    this.before = snapshotTree();
    this.startedAt = Date.now();
  }

  /** CPU seconds per component since start(), and the wall time. */
  stop(): { wallSeconds: number; cpuSeconds: Record<string, number>; totalCpuSeconds: number } {
    const after = snapshotTree();
    const wallSeconds = (Date.now() - this.startedAt) / 1000;
    const named = Object.entries(this.named()).filter((e): e is [string, number] => e[1] !== undefined);
    const groupOf = (pid: number): string => {
      // walk up to a named pid, else group by process name
      let cur: number | undefined = pid;
      while (cur !== undefined && cur !== process.pid) {
        const hit = named.find(([, p]) => p === cur);
        if (hit) return hit[0];
        cur = after.get(cur)?.ppid ?? this.before.get(cur)?.ppid;
      }
      if (pid === process.pid) return 'bench';
      const comm = (after.get(pid) ?? this.before.get(pid))!.comm;
      if (comm.startsWith('postgres')) return 'postgres';
      if (comm.startsWith('temporal')) return 'temporal';
      return comm;
    };
    const cpuSeconds: Record<string, number> = {};
    for (const [pid, st] of after) {
      const delta = st.ticks - (this.before.get(pid)?.ticks ?? 0);
      if (delta <= 0) continue;
      const g = groupOf(pid);
      cpuSeconds[g] = (cpuSeconds[g] ?? 0) + delta / CLK_TCK;
    }
    for (const k of Object.keys(cpuSeconds)) cpuSeconds[k] = Math.round(cpuSeconds[k] * 100) / 100;
    const totalCpuSeconds = Math.round(Object.values(cpuSeconds).reduce((a, b) => a + b, 0) * 100) / 100;
    return { wallSeconds: Math.round(wallSeconds * 100) / 100, cpuSeconds, totalCpuSeconds };
  }
}
