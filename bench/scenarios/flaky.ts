// Scenario 5: flaky receivers. Half the requests answer 503 (random, at most 5 in a row per delivery, so
// the 8-attempt budget of the short schedule always suffices); every delivery must still end `success`.
// Baseline: the same batch through the same stack to a receiver that always answers 200.
import type { BenchOptions, Row, Scenario } from '../lib/context';
import { createSubscription, deliveryCounts, drain, startHub, type Hub } from '../lib/hub';
import { CpuMeter } from '../lib/procs';
import { BenchReceiver } from '../lib/receiver';
import { ratio, round } from '../lib/stats';
import { serviceBatch, type BatchResult } from './e2e';

const SCHEDULE_MS = [100, 200, 400, 800, 1600, 3200, 5000];
const MAX_FAILS_IN_A_ROW = 5;

interface Phase extends BatchResult {
  attemptsLogged: number;
  attemptsPerDelivery: number;
  receiverRequests: number;
  receiver503: number;
  statuses: Awaited<ReturnType<typeof deliveryCounts>>;
}

async function phase(hub: Hub, receiver: BenchReceiver, cpu: CpuMeter, prefix: string, events: number, systemId: string, timeoutMs: number): Promise<Phase> {
  receiver.reset();
  const batch = await serviceBatch(hub, cpu, prefix, events, 1, [systemId], timeoutMs);
  const statuses = await deliveryCounts(hub, `${prefix}-`);
  const logged = await hub.db.query(
    `SELECT count(*)::int AS n FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id WHERE d.emission_id LIKE $1`,
    [`${prefix}-%`],
  );
  return {
    ...batch,
    attemptsLogged: logged.rows[0].n,
    attemptsPerDelivery: round(statuses.attempts / Math.max(1, statuses.total), 2),
    receiverRequests: receiver.total,
    receiver503: receiver.answered503,
    statuses,
  };
}

export const flakyScenario: Scenario = {
  name: 'flaky',
  title: 'Flaky receiver: 50% of requests answer 503',
  async run(opts: BenchOptions) {
    const timeoutMs = opts.quick ? 45_000 : 90_000;
    const hub = await startHub(opts);
    const receiver = await new BenchReceiver().start();
    receiver.behaviours.set('/flaky', { failRatio: 0.5, maxFailsInARow: MAX_FAILS_IN_A_ROW });
    const cpu = new CpuMeter(() => ({ api: hub.stack.api.child?.pid, worker: hub.stack.worker.child?.pid }));
    try {
      const retryPolicy = { scheduleMs: SCHEDULE_MS };
      await createSubscription(hub, { name: 'bench clean', url: `${receiver.url}/clean`, systemIds: ['sys-clean'], retryPolicy });
      await createSubscription(hub, { name: 'bench flaky', url: `${receiver.url}/flaky`, systemIds: ['sys-flaky'], retryPolicy });
      // the warm-up's rate sizes the batch (about 10 s of clean deliveries here; 4 s in --quick)
      const warm = await serviceBatch(hub, cpu, 'flakywarm', 30, 1, ['sys-clean'], 60_000);
      await drain(hub, 30_000);
      const events = Math.max(opts.quick ? 20 : 50, Math.min(opts.quick ? 60 : 300, Math.round(warm.perSecond * (opts.quick ? 4 : 10))));

      opts.log(`flaky: ${events} events to an always-200 receiver`);
      const clean = await phase(hub, receiver, cpu, 'clean', events, 'sys-clean', timeoutMs);
      await drain(hub, 20_000);
      opts.log(`flaky: ${events} events to a 50%-503 receiver`);
      const flaky = await phase(hub, receiver, cpu, 'flaky', events, 'sys-flaky', timeoutMs);
      opts.log(`flaky: ${flaky.statuses.success}/${flaky.statuses.total} success, ${flaky.attemptsPerDelivery} attempts/delivery, ${flaky.perSecond}/s (clean ${clean.perSecond}/s)`);

      const sc = '5 flaky receiver (50% 503)';
      const allSuccess = flaky.statuses.success === events && flaky.statuses.total === events;
      const rows: Row[] = [
        {
          scenario: sc,
          metric: 'ended success',
          value: flaky.statuses.success,
          unit: `of ${events}`,
          target: 'all',
          pass: allSuccess,
          note: `failed ${flaky.statuses.failed}, still open ${flaky.statuses.open}${flaky.timedOut ? ' (TIMED OUT)' : ''}`,
        },
        {
          scenario: sc,
          metric: 'deliveries/s',
          value: flaky.perSecond,
          unit: '/s',
          baseline: clean.perSecond,
          ratio: ratio(flaky.perSecond, clean.perSecond),
          note: `baseline: same batch, receiver always 200; ${flaky.seconds} s vs ${clean.seconds} s (retry waits dominate a small batch)`,
        },
        {
          scenario: sc,
          metric: 'attempts per delivery',
          value: flaky.attemptsPerDelivery,
          unit: '',
          baseline: clean.attemptsPerDelivery,
          ratio: ratio(flaky.attemptsPerDelivery, clean.attemptsPerDelivery),
          note: `receiver: ${flaky.receiverRequests} requests, ${round((100 * flaky.receiver503) / Math.max(1, flaky.receiverRequests))}% 503; attempt log rows ${flaky.attemptsLogged}`,
        },
        {
          scenario: sc,
          metric: 'attempt log = wire',
          value: flaky.attemptsLogged === flaky.receiverRequests ? 'yes' : 'NO',
          unit: '',
          target: 'exact',
          pass: flaky.attemptsLogged === flaky.receiverRequests,
          note: `${flaky.attemptsLogged} logged attempts vs ${flaky.receiverRequests} requests received`,
        },
      ];
      return { rows, details: { events, scheduleMs: SCHEDULE_MS, failRatio: 0.5, maxFailsInARow: MAX_FAILS_IN_A_ROW, clean, flaky } };
    } finally {
      await receiver.stop();
      await hub.stop();
    }
  },
};
