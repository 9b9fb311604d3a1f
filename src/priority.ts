import fs from 'node:fs';
import os from 'node:os';

/** DELIVERY_NICE's default: the delivery engine gets about a tenth of the CPU the API gets when both want all of it. */
export const DEFAULT_DELIVERY_NICE = 10;

/**
 * CPU priority of the delivery engine (DELIVERY_NICE, docs/DESIGN.md decision 19): on a machine shared with the
 * API, the worker and the embedded Temporal server run at a higher nice value, so that under overload ingest
 * (the commit that makes events durable) is answered first and deliveries queue behind it, durably.
 *
 * Linux keeps the nice value per thread: setpriority(PRIO_PROCESS, pid) changes only the thread whose id is
 * `pid`, and a new thread copies the value of the thread that creates it. So every thread of the process is set,
 * pass after pass, until a pass finds none left at another value: from then on every thread it creates inherits it.
 * Raising the value needs no privilege; elsewhere than Linux only the process itself is set.
 */
export function setNice(nice: number, pid: number = process.pid): { threads: number } {
  if (!fs.existsSync('/proc/self/task')) {
    os.setPriority(pid, nice);
    return { threads: 1 };
  }
  const dir = `/proc/${pid}/task`;
  let threads = 0;
  for (let pass = 0; pass < 10; pass++) {
    let changed = 0;
    let tids: string[];
    try {
      tids = fs.readdirSync(dir);
    } catch {
      return { threads }; // the process is gone
    }
    threads = tids.length;
    for (const tid of tids) {
      try {
        if (os.getPriority(Number(tid)) === nice) continue;
        os.setPriority(Number(tid), nice);
        changed++;
      } catch (err) {
        // the thread ended between the listing and here; anything else (not allowed to lower it) is the caller's
        if (systemCode(err) !== 'ESRCH') throw err;
      }
    }
    if (changed === 0) break;
  }
  return { threads };
}

function systemCode(err: unknown): string | undefined {
  const e = err as { code?: string; info?: { code?: string } };
  return e.info?.code ?? e.code;
}

/** The nice value of each thread of a process (Linux; the tests read it). */
export function threadNices(pid: number = process.pid): number[] {
  const out: number[] = [];
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      out.push(os.getPriority(Number(tid)));
    } catch {
      // ended meanwhile
    }
  }
  return out;
}
