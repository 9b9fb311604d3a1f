// Scenario 9 (issue 17): ordered follow-ups. 100 incidents, each created, updated and resolved back to back
// (300 events, the incidents in parallel), to PagerDuty (its local fake: trigger, then acknowledge or
// resolve the same dedup_key), with ordered lanes on, against the same run with ORDERED_FOLLOW_UPS=false
// (deliveries of one record race, as before lanes). Runs alternate off, on, on, off on fresh stacks.
// Reported: events handled per second (every delivery ended: success, or superseded by a newer state),
// event to first attempt p50/p99 (deliveries that made one), and incidents whose PagerDuty alert did not
// end resolved or saw a trigger after its resolve (the wrong final state lanes exist to prevent).
import { performance } from 'node:perf_hooks';
import { FakePagerduty } from '../../test/fakes/pagerduty';
import type { BenchOptions, Row, Scenario } from '../lib/context';
import { startHub, waitUntil, type Hub } from '../lib/hub';
import { ratio, round, summarise } from '../lib/stats';

const ROUTING_KEY = 'R0UT1NGKEY0123456789abcdefABCDEF';
const EVENTS = ['incident.created', 'incident.updated', 'incident.resolved'] as const;

interface LaneRun {
  lanes: boolean;
  subjects: number;
  events: number;
  spanMs: number;
  eventsPerSecond: number;
  firstAttemptMs: ReturnType<typeof summarise>;
  superseded: number;
  sent: number;
  failed: number;
  wrongFinalState: number;
  triggerAfterResolve: number;
  unfinished: number;
}

export const lanesScenario: Scenario = {
  name: 'lanes',
  title: 'Ordered follow-ups: 100 incidents x created/updated/resolved, lanes on vs off',
  async run(opts: BenchOptions) {
    const subjects = opts.quick ? 30 : 100;
    const order = [false, true, true, false];
    const runs: LaneRun[] = [];
    for (const [i, lanes] of order.entries()) runs.push(await oneRun(opts, lanes, subjects, `r${i}`));

    const on = runs.filter((r) => r.lanes);
    const off = runs.filter((r) => !r.lanes);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const pool = (rs: LaneRun[], k: 'p50' | 'p99') => mean(rs.map((r) => r.firstAttemptMs[k]));
    const eps = { on: round(mean(on.map((r) => r.eventsPerSecond))), off: round(mean(off.map((r) => r.eventsPerSecond))) };
    const sc = '9 lanes 100 x 3 events';
    const rows: Row[] = [
      {
        scenario: sc, metric: 'events handled/s (all ended)', value: eps.on, unit: '/s', baseline: eps.off, ratio: ratio(eps.on, eps.off),
        target: '>= 0.9 x lanes off', pass: (ratio(eps.on, eps.off) ?? 0) >= 0.9,
        note: `mean of ${on.length} runs each; superseded per run: ${on.map((r) => r.superseded).join(', ')}`,
      },
      {
        scenario: sc, metric: 'event -> first attempt p50', value: round(pool(on, 'p50')), unit: 'ms', baseline: round(pool(off, 'p50')),
        ratio: ratio(pool(on, 'p50'), pool(off, 'p50')), note: 'deliveries that made an attempt; a follow-up waits for the one ahead by design',
      },
      {
        scenario: sc, metric: 'event -> first attempt p99', value: round(pool(on, 'p99')), unit: 'ms', baseline: round(pool(off, 'p99')),
        ratio: ratio(pool(on, 'p99'), pool(off, 'p99')),
      },
      {
        scenario: sc, metric: 'incidents left in a wrong state', value: on.map((r) => r.wrongFinalState).join(' / '), unit: `of ${subjects}`,
        note: `lanes off: ${off.map((r) => r.wrongFinalState).join(' / ')} (trigger after resolve: ${off.map((r) => r.triggerAfterResolve).join(' / ')})`,
        target: '0 with lanes', pass: on.every((r) => r.wrongFinalState === 0 && r.triggerAfterResolve === 0),
      },
    ];
    return { rows, details: { order, runs } };
  },
};

async function oneRun(opts: BenchOptions, lanes: boolean, subjects: number, tag: string): Promise<LaneRun> {
  const hub = await startHub(opts, lanes ? {} : { ORDERED_FOLLOW_UPS: 'false' });
  const pd = await new FakePagerduty(ROUTING_KEY).start();
  try {
    for (const event of EVENTS) {
      const r = await hub.stack.call('POST', '/subscriptions', {
        name: `bench pagerduty ${event}`, provider: 'pagerduty', event,
        config: { routingKey: ROUTING_KEY, apiBaseUrl: pd.url, ...(event === 'incident.updated' ? { followUpAction: 'acknowledge' } : {}) },
        retryPolicy: { scheduleMs: [200, 500, 1000, 2000] },
      });
      if (r.status !== 201) throw new Error(`lanes: subscription for ${event}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
    }
    // warm-up: one incident through, not measured
    await incident(hub, `${tag}-warm`);
    await waitUntil(async () => (await open(hub)) === 0, 60_000, 100);

    const t0 = performance.now();
    const t0Wall = Date.now();
    await Promise.all(Array.from({ length: subjects }, (_, i) => incident(hub, `${tag}-${i}`)));
    const ended = await waitUntil(async () => (await open(hub)) === 0, 180_000, 50);
    const { rows } = await hub.db.query<{ status: string; attempts: number; first_ms: number | null; updated_ms: number }>(
      `SELECT d.status, d.attempts,
              (extract(epoch FROM (SELECT min(a.started_at) FROM delivery_attempts a WHERE a.delivery_id = d.id)) * 1000
               - extract(epoch FROM e.received_at) * 1000)::float8 AS first_ms,
              (extract(epoch FROM d.updated_at) * 1000)::float8 AS updated_ms
         FROM deliveries d JOIN emissions e ON e.id = d.emission_id
        WHERE d.emission_id LIKE $1 AND d.emission_id NOT LIKE $2`,
      [`${tag}-%`, `${tag}-warm-%`],
    );
    const measured = rows;
    const lastEnd = Math.max(...measured.map((r) => r.updated_ms));
    const spanMs = ended ? lastEnd - t0Wall : performance.now() - t0;
    const alerts = [...pd.alerts.values()].filter((a) => a.summary.includes(`Bench incident ${tag}-`) && !a.summary.includes('warm'));
    const wrong = subjects - alerts.filter((a) => a.status === 'resolved').length;
    const triggerAfterResolve = alerts.filter((a) => a.actions.lastIndexOf('trigger') > a.actions.indexOf('resolve') && a.actions.includes('resolve')).length;
    const run: LaneRun = {
      lanes,
      subjects,
      events: subjects * EVENTS.length,
      spanMs: Math.round(spanMs),
      eventsPerSecond: round((subjects * EVENTS.length) / (spanMs / 1000)),
      firstAttemptMs: summarise(measured.filter((r) => r.first_ms !== null).map((r) => r.first_ms!)),
      superseded: measured.filter((r) => r.status === 'superseded').length,
      sent: measured.filter((r) => r.attempts > 0).length,
      failed: measured.filter((r) => r.status === 'failed').length,
      wrongFinalState: wrong,
      triggerAfterResolve,
      unfinished: measured.filter((r) => r.status === 'pending' || r.status === 'retrying').length,
    };
    opts.log(`lanes ${lanes ? 'on ' : 'off'} ${tag}: ${run.events} events in ${run.spanMs} ms (${run.eventsPerSecond}/s), first attempt p50 ${run.firstAttemptMs.p50} p99 ${run.firstAttemptMs.p99} ms, superseded ${run.superseded}, wrong final state ${wrong}, trigger after resolve ${triggerAfterResolve}, failed ${run.failed}, unfinished ${run.unfinished}`);
    return run;
  } finally {
    await pd.stop();
    await hub.stop();
  }
}

/** One incident's three events, each sent after the previous one was accepted (as a domain service emits them). */
async function incident(hub: Hub, id: string): Promise<void> {
  for (const event of EVENTS) {
    const res = await hub.http.request('POST', '/api/v1/ingest', {
      body: JSON.stringify({ event, id: `${id}-${event}`, payload: { incidentId: `inc-${id}`, title: `Bench incident ${id}`, severity: 'major' } }),
      headers: { authorization: `Bearer ${hub.stack.ingestToken}` },
    });
    if (res.status !== 202) throw new Error(`lanes: ingest ${event} of ${id}: HTTP ${res.status} ${res.body.slice(0, 200)}`);
  }
}

async function open(hub: Hub): Promise<number> {
  const r = await hub.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM deliveries WHERE status IN ('pending', 'retrying')`);
  return r.rows[0].n;
}
