// Scenario 10: what running a provider plugin out of process costs (issue 20). The same provider code (the
// echo fixture, test/fixtures/plugins/provider-echo) twice on one stack: loaded in process from
// PROVIDER_PLUGINS (`echo-hook`, as a built-in runs) and installed through POST /plugins under another id
// (`echo-remote`), which runs in a plugin host (a child process of the worker, over IPC; its HTTP sent by
// the hub). Batches alternate in process, plugin host, in process, plugin host; the ratio is plugin / in process.
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../test/support/stack';
import { packFiles } from '../../test/support/plugin-packages';
import type { BenchOptions, Row, Scenario } from '../lib/context';
import { deliveryCounts, drain, postIngest, startHub, waitUntil, type Hub } from '../lib/hub';
import { CpuMeter } from '../lib/procs';
import { BenchReceiver } from '../lib/receiver';
import { ratio, round } from '../lib/stats';
import { serviceBatch, type BatchResult } from './e2e';

const ECHO = path.join(PROJECT_ROOT, 'test/fixtures/plugins/provider-echo');

async function subscribe(hub: Hub, provider: string, url: string, systemId: string): Promise<void> {
  const r = await hub.stack.call('POST', '/subscriptions', { name: `bench ${provider}`, provider, event: 'incident.created', config: { url }, systemIds: [systemId] });
  if (r.status !== 201) throw new Error(`subscribe ${provider}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
}

/** One delivery through `systemId` succeeds (the worker has loaded the plugin by then). */
async function firstSuccess(hub: Hub, systemId: string, timeoutMs: number): Promise<boolean> {
  let n = 0;
  return waitUntil(async () => {
    const prefix = `pluginwarm-${systemId}-${n++}`;
    await postIngest(hub, `${prefix}-0`, [systemId]);
    let counts = await deliveryCounts(hub, `${prefix}-`);
    await waitUntil(async () => {
      counts = await deliveryCounts(hub, `${prefix}-`);
      return counts.success + counts.failed >= 1;
    }, 15_000, 100);
    return counts.success === 1;
  }, timeoutMs, 500);
}

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
}

export const pluginsScenario: Scenario = {
  name: 'plugins',
  title: 'A plugin delivery (plugin host) against the same provider in process',
  async run(opts: BenchOptions) {
    const hub = await startHub(opts, { PROVIDER_PLUGINS: ECHO, PLUGIN_INSTALL_ENABLED: 'true' });
    const receiver = await new BenchReceiver().start();
    const cpu = new CpuMeter(() => ({ api: hub.stack.api.child?.pid, worker: hub.stack.worker.child?.pid }));
    try {
      const remote = packFiles({
        'package.json': JSON.stringify({ name: '@ihub-bench/provider-echo-remote', version: '1.0.0', main: 'index.js' }),
        'index.js': fs.readFileSync(path.join(ECHO, 'index.js'), 'utf8').replace("id: 'echo-hook'", "id: 'echo-remote'"),
      });
      const installed = await hub.stack.call('POST', '/plugins', { tarball: remote.bytes.toString('base64') });
      if (installed.status !== 201) throw new Error(`install: HTTP ${installed.status} ${JSON.stringify(installed.body)}`);
      await subscribe(hub, 'echo-hook', `${receiver.url}/inproc`, 'sys-inproc');
      await subscribe(hub, 'echo-remote', `${receiver.url}/remote`, 'sys-remote');
      if (!(await firstSuccess(hub, 'sys-remote', 60_000))) throw new Error('no delivery through the installed plugin succeeded');
      if (!(await firstSuccess(hub, 'sys-inproc', 30_000))) throw new Error('no delivery through the in-process plugin succeeded');
      const warm = await serviceBatch(hub, cpu, 'pluginwarm', 30, 1, ['sys-inproc'], 60_000);
      await drain(hub, 30_000);
      const events = Math.max(opts.quick ? 20 : 60, Math.min(opts.quick ? 60 : 300, Math.round(warm.perSecond * (opts.quick ? 4 : 10))));
      const timeoutMs = opts.quick ? 60_000 : 120_000;
      const runs: { inproc: BatchResult[]; remote: BatchResult[] } = { inproc: [], remote: [] };
      for (const [i, kind] of (['inproc', 'remote', 'inproc', 'remote'] as const).entries()) {
        opts.log(`plugins: ${events} events through the ${kind === 'inproc' ? 'in-process' : 'plugin host'} provider (${i + 1}/4)`);
        runs[kind].push(await serviceBatch(hub, cpu, `plugin${kind}${i}`, events, 1, [`sys-${kind}`], timeoutMs));
        await drain(hub, 30_000);
      }
      const perSecond = { inproc: mean(runs.inproc.map((r) => r.perSecond)), remote: mean(runs.remote.map((r) => r.perSecond)) };
      const cpuMs = { inproc: mean(runs.inproc.map((r) => r.cpuMsPerDelivery)), remote: mean(runs.remote.map((r) => r.cpuMsPerDelivery)) };
      const workerCpuMs = (r: BatchResult) => ((r.cpu.cpuSeconds.worker ?? 0) * 1000) / Math.max(1, r.completed);
      const workerMs = { inproc: mean(runs.inproc.map(workerCpuMs)), remote: mean(runs.remote.map(workerCpuMs)) };
      const completed = [...runs.inproc, ...runs.remote].every((r) => r.completed === r.deliveries);
      const sc = '10 plugin host vs in process';
      const rows: Row[] = [
        {
          scenario: sc,
          metric: 'deliveries/s',
          value: round(perSecond.remote, 1),
          unit: '/s',
          baseline: round(perSecond.inproc, 1),
          ratio: ratio(perSecond.remote, perSecond.inproc),
          pass: completed,
          note: `${events} events per batch, 2 batches each, alternating; all success: ${completed ? 'yes' : 'NO'}`,
        },
        {
          scenario: sc,
          metric: 'CPU ms per delivery (all processes)',
          value: round(cpuMs.remote, 2),
          unit: 'ms',
          baseline: round(cpuMs.inproc, 2),
          ratio: ratio(cpuMs.remote, cpuMs.inproc),
        },
        {
          scenario: sc,
          metric: 'worker CPU ms per delivery (with its plugin hosts)',
          value: round(workerMs.remote, 2),
          unit: 'ms',
          baseline: round(workerMs.inproc, 2),
          ratio: ratio(workerMs.remote, workerMs.inproc),
          note: 'the host is a child of the worker: counted with it',
        },
      ];
      return { rows, details: { events, runs, perSecond, cpuMs, workerMs } };
    } finally {
      await receiver.stop();
      await hub.stop();
    }
  },
};
