import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { Client as PgClient } from 'pg';
import { Receiver } from '../fakes/receiver';
import { formatTally, tally, type FaultWindow, type LogRow, type Tally } from '../faults/accounting';
import { Ledger, type Policy } from '../faults/ledger';
import { LoadGenerator, type Post } from '../faults/load';
import { TcpProxy } from '../support/tcp-proxy';
import { ClusterStack } from '../support/cluster';
import { closedHistory } from '../support/history';
import { SseClient } from '../support/sse';

/**
 * Issue 12: the production topology on this machine. A real Temporal server (1.29.1) on PostgreSQL with SQL
 * visibility, Temporal Web, two API processes and two workers, set up by the code `npm run cluster` runs.
 * Proves: deliveries spread over both workers, search attributes work with SQL visibility (and in Web), and
 * nothing accepted is lost when a worker is killed, when the Temporal server restarts, or when an API is killed
 * (the other API keeps accepting and its reconciler starts what the dead one stranded). The books of each fault
 * are kept as in test/faults (ledger of the receiver, ingest answers, the delivery log).
 *
 * API 0 reaches Temporal through a TCP proxy the test can cut (to strand committed deliveries); API 1 and the
 * workers reach it directly. Live updates (the admin UI's server-sent events) reach a client of either API.
 */

const MAX_RATE_PER_SECOND = 12;
const WORKER_CONCURRENCY = 20;
const RETRY_SCHEDULE_MS = [1000, 2000, 5000, 10000, 20000, 20000, 20000, 20000];
const STEADY_MS = 4000;
const WINDOW_SLACK_MS = 5000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(probe: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 500): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await probe()) return true;
    } catch {
      // a dependency may be down while we poll
    }
    if (Date.now() > deadline) return false;
    await sleep(everyMs);
  }
}

interface Run {
  n: number;
  name: string;
  path: string;
  subscriptionId: string;
  loads: LoadGenerator[];
  faultFrom: number;
  faultTo: number;
  extra: Record<string, number | string>;
}

describe('production topology: Temporal server on PostgreSQL, 2 APIs, 2 workers (issue 12)', function () {
  const suite = `c${crypto.randomBytes(3).toString('hex')}`;
  const ledger = new Ledger();
  const runs = new Map<number, Run>();
  const windows: FaultWindow[] = [];
  const startedAt = Date.now();
  let stack: ClusterStack | undefined;
  let proxy: TcpProxy | undefined;
  let receiver: Receiver | undefined;
  let slowReceiver: { url: string; stop(): Promise<void> } | undefined;
  let slowDelayMs = 0;
  let rate = MAX_RATE_PER_SECOND;
  /** Which APIs are up: a client fails over to the other when one is down. */
  const apiUp = [true, true];

  const s = () => stack!;
  const liveApi = (preferred: number) => (apiUp[preferred] ? preferred : 1 - preferred);

  async function sql<T>(text: string, params: unknown[]): Promise<T[]> {
    const c = new PgClient({ connectionString: s().databaseUrl });
    await c.connect();
    try {
      return (await c.query(text, params)).rows as T[];
    } finally {
      await c.end();
    }
  }

  async function createSubscription(name: string, systemId: string, url: string, scheduleMs = RETRY_SCHEDULE_MS): Promise<string> {
    const r = await s().call('POST', '/subscriptions', {
      name, provider: 'webhook', event: 'incident.created', systemIds: [systemId], config: { url }, retryPolicy: { scheduleMs },
    }, { api: liveApi(1) });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.id as string;
  }

  async function listDeliveries(subscriptionId: string): Promise<LogRow[]> {
    const rows: LogRow[] = [];
    let cursor: string | undefined;
    do {
      const q = `/deliveries?subscriptionId=${subscriptionId}&limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const r = await s().call('GET', q, undefined, { api: liveApi(1) });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      rows.push(...(r.body.items as LogRow[]));
      cursor = r.body.nextCursor ?? undefined;
    } while (cursor);
    return rows;
  }

  function load(api: number, systemId: string, tag: string): LoadGenerator {
    return new LoadGenerator({ baseUrl: () => s().baseUrl(liveApi(api)), token: s().ingestToken, prefix: `${systemId}-${tag}`, systemId });
  }

  function processTail(): string {
    return [
      ...s().apis.map((a, i) => `--- api ${i} ---\n${a.output.join('').slice(-2000)}`),
      ...s().workers.map((w, i) => `--- worker ${i} ---\n${w.output.join('').slice(-2000)}`),
      `--- temporal ---\n${s().infra.temporal?.tail().slice(-2000)}`,
    ].join('\n');
  }

  /** Both APIs ready, both workers alive, and a new event through each API delivered. */
  async function assertHealthy(label: string): Promise<void> {
    for (const [i, w] of s().workers.entries()) {
      assert.ok(w.child && w.child.exitCode === null && w.child.signalCode === null, `worker ${i} is running\n${processTail()}`);
    }
    for (let api = 0; api < 2; api++) {
      await s().waitReady(api, 120_000);
      const r = await s().call('POST', '/ingest', {
        event: 'incident.created', id: `${suite}-canary-${label}-${api}`, systemIds: ['cluster-canary'],
        payload: { incidentId: `canary-${label}-${api}`, title: 'canary', severity: 'minor' },
      }, { token: s().ingestToken, api });
      assert.equal(r.status, 202, JSON.stringify(r.body));
      const id = r.body.deliveries[0].id as string;
      const delivered = await until(async () => (await s().call('GET', `/deliveries/${id}`, undefined, { api })).body.status === 'success', 240_000, 250);
      assert.ok(delivered, `the canary through API ${api} after "${label}" is delivered\n${processTail()}`);
    }
  }

  /** The `identity` of the worker that ran each delivery's attempts (from the workflow history). */
  async function attemptIdentities(rows: LogRow[], subscriptionId: string): Promise<Map<string, number>> {
    const client = await s().temporalClient();
    const counts = new Map<string, number>();
    for (const row of rows) {
      // a success in the log can come just before its attempt's marker reaches the history: read the closed run's
      const history = await closedHistory(client, `delivery:${row.emissionId}:${subscriptionId}`, 60_000);
      // an attempt is a local activity (DESIGN decision 15): run by the worker that completed the workflow task
      // its marker was recorded in; an attempt of a run from before it, by the worker that started its activity task
      const taskCompletedBy = new Map<string, string>();
      for (const e of history.events ?? []) {
        if (e.workflowTaskCompletedEventAttributes?.identity) taskCompletedBy.set(String(e.eventId), e.workflowTaskCompletedEventAttributes.identity);
        const local = e.markerRecordedEventAttributes?.markerName === 'core_local_activity' ? e.markerRecordedEventAttributes.workflowTaskCompletedEventId : undefined;
        const identity = e.activityTaskStartedEventAttributes?.identity ?? (local != null ? taskCompletedBy.get(String(local)) : undefined);
        if (identity) counts.set(identity, (counts.get(identity) ?? 0) + 1);
      }
    }
    return counts;
  }

  async function visible(query: string): Promise<string[]> {
    const client = await s().temporalClient();
    const ids: string[] = [];
    for await (const wf of client.workflow.list({ query })) ids.push(wf.workflowId);
    return ids.sort();
  }

  async function scenario(
    n: number,
    name: string,
    opts: {
      fault: (run: Run) => Promise<void>;
      policy?: Policy;
      slow?: boolean;
      /** API of each load generator (one generator per entry), each at rate / count. */
      apis?: number[];
      afterLoad?: (run: Run) => Promise<void>;
    },
  ): Promise<Run> {
    const path = `/s${n}`;
    const systemId = `${suite}-s${n}`;
    const base = opts.slow ? slowReceiver!.url : receiver!.url;
    const subscriptionId = await createSubscription(`cluster ${n}: ${name}`, systemId, `${base}${path}`);
    if (opts.policy) ledger.policy(path, opts.policy);
    const apis = opts.apis ?? [1];
    const loads = apis.map((api, i) => load(api, systemId, `a${i}`));
    const run: Run = { n, name, path, subscriptionId, loads, faultFrom: 0, faultTo: 0, extra: { 'rate/s': rate } };
    runs.set(n, run);
    for (const l of loads) l.start(rate / loads.length);
    try {
      await sleep(STEADY_MS);
      run.faultFrom = Date.now();
      await opts.fault(run);
      run.faultTo = Date.now();
      await sleep(STEADY_MS);
    } finally {
      await Promise.all(loads.map((l) => l.stop()));
      if (run.faultFrom) windows.push({ name, from: run.faultFrom - WINDOW_SLACK_MS, to: (run.faultTo || Date.now()) + WINDOW_SLACK_MS });
    }
    run.extra['fault s'] = ((run.faultTo - run.faultFrom) / 1000).toFixed(1);
    await opts.afterLoad?.(run);
    await Promise.all(loads.map((l) => l.retryUnaccepted(Date.now() + 180_000)));
    const posts = loads.flatMap((l) => l.posts);
    const statuses: Record<string, number> = {};
    for (const p of posts) statuses[String(p.status)] = (statuses[String(p.status)] ?? 0) + 1;
    console.log(`[cluster] ${n}. ${name}: ingest first-try statuses ${JSON.stringify(statuses)}, posted ${posts.length}`);
    assert.equal(statuses['500'] ?? 0, 0, `no ingest answer is a 500: ${JSON.stringify(statuses)}`);
    const stillRefused = loads.flatMap((l) => l.retryable()).filter((p) => !p.retries.some((r) => r === 200 || r === 202));
    assert.deepEqual(stillRefused.map((p) => `${p.id}: ${p.retries.join(',')}`), [], 'every client retry after the fault is accepted');
    await assertHealthy(`s${n}`);
    return run;
  }

  /** Waits (bounded) until every delivery of the scenario is done, prints its books and checks them. */
  async function account(n: number): Promise<Tally> {
    const run = runs.get(n);
    assert.ok(run, `scenario ${n} ran`);
    const posts: Post[] = run.loads.flatMap((l) => l.posts);
    const soft = Math.max(run.faultTo + 180_000, Date.now() + 30_000);
    const hard = Math.max(run.faultTo + 480_000, Date.now() + 60_000);
    let t: Tally;
    let rows: LogRow[];
    let progress = { delivered: -1, at: Date.now() };
    for (;;) {
      rows = await listDeliveries(run.subscriptionId);
      t = tally(posts, rows, ledger.forPath(run.path), windows);
      if (t.delivered > progress.delivered) progress = { delivered: t.delivered, at: Date.now() };
      const now = Date.now();
      if (t.missing.length === 0 || now > hard || (now > soft && now - progress.at > 60_000)) break;
      await sleep(2000);
    }
    const lastHit = Math.max(...ledger.forPath(run.path).filter((h) => h.status < 300).map((h) => h.at));
    console.log(formatTally(n, run.name, t, { ...run.extra, 'last delivery s after recovery': ((lastHit - run.faultTo) / 1000).toFixed(1) }));
    const stuck = rows.filter((r) => t.missing.includes(r.id)).slice(0, 10);
    assert.deepEqual(t.lost, [], `accepted events not delivered: ${JSON.stringify(stuck)}`);
    assert.deepEqual(t.missing, [], `committed deliveries not delivered: ${JSON.stringify(stuck)}`);
    assert.equal(t.failedInLog, 0, 'no delivery ends failed');
    assert.deepEqual(t.answerMismatches, [], 'every 2xx names the one delivery the log holds for the event');
    assert.deepEqual(t.idMismatches, [], 'every request about an event carries its one delivery id');
    assert.deepEqual(t.duplicatesOutsideFaults, [], 'duplicates only for attempts in flight at a fault');
    assert.ok(t.duplicates <= WORKER_CONCURRENCY, `duplicates (${t.duplicates}) ≤ attempts one worker has in flight (${WORKER_CONCURRENCY})`);
    assert.ok(t.acceptedFirstTry + t.acceptedOnRetry > 0, 'the scenario accepted events');
    return t;
  }

  before(async function () {
    this.timeout(900_000);
    stack = await ClusterStack.start({ web: true, extraEnv: { WORKER_MAX_CONCURRENT_ACTIVITIES: String(WORKER_CONCURRENCY) } });
    // API 0 goes through a proxy the API-kill scenario cuts
    proxy = await new TcpProxy({ host: '127.0.0.1', port: Number(s().infra.temporalAddress.split(':')[1]) }).start();
    await s().apis[0].stop();
    s().apiTemporalAddress[0] = proxy.address;
    s().apis[0].start();
    await s().waitReady(0, 120_000);
    assert.ok(proxy.connections > 0, 'API 0 reaches Temporal through the proxy');

    receiver = await new Receiver().start();
    ledger.attach(receiver);
    slowReceiver = await ledger.serveSlowly(() => slowDelayMs);
    await createSubscription('cluster canary', 'cluster-canary', `${receiver.url}/canary`);
    await assertHealthy('start');
    rate = await calibrate();
    slowDelayMs = Math.min(1500, Math.round((WORKER_CONCURRENCY / 2 / rate) * 1000));
  });

  /** A 2-second burst through API 1; the scenarios then post at 60 % of the measured throughput, at most 12/s. */
  async function calibrate(): Promise<number> {
    if (process.env.CLUSTER_RATE) return Number(process.env.CLUSTER_RATE);
    const systemId = `${suite}-cal`;
    await createSubscription('cluster calibration', systemId, `${receiver!.url}/calibration`);
    const l = load(1, systemId, 'cal');
    const t0 = Date.now();
    l.start(2 * MAX_RATE_PER_SECOND);
    await sleep(2000);
    await l.stop();
    const ids = new Set(l.accepted().flatMap((p) => p.deliveryIds));
    const seen = () => new Set(ledger.forPath('/calibration').filter((h) => h.status < 300 && ids.has(h.webhookId)).map((h) => h.webhookId));
    await until(() => seen().size === ids.size, 90_000, 250);
    const delivered = seen().size;
    assert.ok(delivered > 0, `the calibration burst is delivered (0/${ids.size})\n${processTail()}`);
    const elapsedS = ((delivered === ids.size ? Math.max(...ledger.forPath('/calibration').map((h) => h.at)) : Date.now()) - t0) / 1000;
    const chosen = Math.max(2, Math.min(MAX_RATE_PER_SECOND, Math.floor((0.6 * delivered) / elapsedS)));
    console.log(`[cluster] calibration: ${delivered}/${ids.size} deliveries in ${elapsedS.toFixed(1)} s; steady rate ${chosen} events/s`);
    return chosen;
  }

  after(async function () {
    this.timeout(180_000);
    await stack?.stop();
    await proxy?.stop();
    await slowReceiver?.stop();
    await receiver?.stop();
    console.log(`[cluster] suite wall time ${((Date.now() - startedAt) / 1000).toFixed(0)} s`);
  });

  let spreadSubscription = '';
  let spreadRows: LogRow[] = [];

  it('spreads deliveries over both workers (worker identity in each workflow history), events entering through both APIs', async function () {
    this.timeout(300_000);
    const systemId = `${suite}-spread`;
    spreadSubscription = await createSubscription('cluster spread', systemId, `${receiver!.url}/spread`);
    const loads = [load(0, systemId, 'a0'), load(1, systemId, 'a1')];
    for (const l of loads) l.start(rate / 2);
    await sleep(6000);
    await Promise.all(loads.map((l) => l.stop()));
    const accepted = loads.flatMap((l) => l.accepted());
    assert.equal(accepted.length, loads.reduce((a, l) => a + l.posts.length, 0), 'every event is accepted');
    assert.ok(loads.every((l) => l.accepted().length > 0), 'both APIs accepted events');
    const done = await until(async () => {
      spreadRows = await listDeliveries(spreadSubscription);
      return spreadRows.length === accepted.length && spreadRows.every((r) => r.status === 'success');
    }, 180_000, 1000);
    assert.ok(done, `all ${accepted.length} deliveries succeed\n${processTail()}`);
    const counts = await attemptIdentities(spreadRows, spreadSubscription);
    const workerIdentities = new Map(s().workers.map((w, i) => [`${w.child!.pid}@`, i]));
    const perWorker = [0, 0];
    for (const [identity, c] of counts) {
      const i = [...workerIdentities].find(([prefix]) => identity.startsWith(prefix))?.[1];
      assert.ok(i !== undefined, `attempt run by ${identity}, not one of our workers (${[...workerIdentities.keys()].join(', ')})`);
      perWorker[i] += c;
    }
    console.log(`[cluster] spread: ${spreadRows.length} deliveries, attempts per worker ${perWorker.join(' / ')}`);
    assert.equal(perWorker[0] + perWorker[1], spreadRows.length, 'one attempt per delivery');
    assert.ok(perWorker[0] > 0 && perWorker[1] > 0, `both workers delivered: ${perWorker.join(' / ')}`);
  });

  it('finds deliveries by HubSubscriptionId and HubDeliveryStatus in SQL visibility, and through Temporal Web', async function () {
    this.timeout(300_000);
    assert.ok(spreadRows.length > 0, 'the spread test delivered');
    const expected = spreadRows.map((r) => `delivery:${r.emissionId}:${spreadSubscription}`).sort();
    const successQuery = `HubSubscriptionId = "${spreadSubscription}" AND HubDeliveryStatus = "success"`;
    let found: string[] = [];
    assert.ok(await until(async () => (found = await visible(successQuery)).length === expected.length, 60_000), `visibility lists ${found.length}/${expected.length}`);
    assert.deepEqual(found, expected);

    // deliveries that keep failing show as retrying, and only as retrying
    const systemId = `${suite}-retrying`;
    const sub = await createSubscription('cluster retrying', systemId, `${receiver!.url}/retrying`, [600_000]);
    ledger.policy('/retrying', () => 503);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await s().call('POST', '/ingest', {
        event: 'incident.created', id: `${systemId}-${i}`, systemIds: [systemId], payload: { incidentId: `r-${i}`, title: 'retrying', severity: 'minor' },
      }, { token: s().ingestToken, api: i % 2 });
      assert.equal(r.status, 202, JSON.stringify(r.body));
      ids.push(`delivery:${systemId}-${i}:${sub}`);
    }
    const retrying = `HubSubscriptionId = "${sub}" AND HubDeliveryStatus = "retrying"`;
    assert.ok(await until(async () => (found = await visible(retrying)).length === 3, 60_000), `retrying: ${found.length}/3`);
    assert.deepEqual(found, ids.sort());
    assert.deepEqual(await visible(`HubSubscriptionId = "${sub}" AND HubDeliveryStatus = "success"`), []);
    assert.deepEqual(await visible(`HubSubscriptionId = "${spreadSubscription}" AND HubDeliveryStatus = "retrying"`), []);

    // Temporal Web, against the same server, lists them with the same query
    const web = s().infra.web;
    assert.ok(web, 'Temporal Web runs');
    const res = await fetch(`${web.url}/api/v1/namespaces/default/workflows?query=${encodeURIComponent(retrying)}`);
    assert.equal(res.status, 200);
    const listed = ((await res.json()) as { executions?: { execution?: { workflowId?: string } }[] }).executions ?? [];
    assert.deepEqual(listed.map((e) => e.execution?.workflowId).sort(), ids.sort());
    // done with them: cancelled, so they do not retry for the rest of the suite
    for (const row of await listDeliveries(sub)) {
      const cancel = await s().call('POST', `/deliveries/${row.id}/cancel`, {});
      assert.ok(cancel.status < 300, JSON.stringify(cancel.body));
    }
  });

  it('streams live updates to a client of either API: an event through API 0 reaches both streams (LISTEN/NOTIFY)', async function () {
    this.timeout(120_000);
    const systemId = `${suite}-live`;
    const sub = await createSubscription('cluster live updates', systemId, `${receiver!.url}/live`);
    const streams = await Promise.all([0, 1].map((api) =>
      SseClient.open(`${s().baseUrl(api)}/api/v1/deliveries/stream?subscriptionId=${sub}`, { authorization: `Bearer ${s().adminToken}` })));
    try {
      for (const [api, st] of streams.entries()) {
        assert.equal(st.status, 200, `the stream of API ${api} opens`);
        await st.next((e) => e.event === 'ready', `API ${api} ready`);
      }
      const r = await s().call('POST', '/ingest', {
        event: 'incident.created', id: `${systemId}-1`, systemIds: [systemId], payload: { incidentId: 'live-1', title: 'live', severity: 'minor' },
      }, { token: s().ingestToken, api: 0 });
      assert.equal(r.status, 202, JSON.stringify(r.body));
      const id = r.body.deliveries[0].id as string;
      // the change is committed through API 0 and a worker; each API's own LISTEN connection hears it
      for (const [api, st] of streams.entries()) {
        await st.next((e) => e.event === 'delivery' && e.data.id === id && e.data.status === 'success', `success on the stream of API ${api}`);
      }
    } finally {
      streams.forEach((st) => st.close());
    }
  });

  it('1. one worker killed with SIGKILL while events flow: the other carries on', async function () {
    this.timeout(600_000);
    await scenario(1, 'worker SIGKILL', {
      slow: true,
      fault: async (run) => {
        await s().workers[0].kill();
        const before = ledger.forPath(run.path).filter((h) => h.status < 300).length;
        // worker 1 alone delivers this scenario's events
        assert.ok(
          await until(() => ledger.forPath(run.path).filter((h) => h.status < 300).length >= before + 10, 120_000),
          `the surviving worker delivers\n${processTail()}`,
        );
        run.extra['delivered by the survivor alone'] = ledger.forPath(run.path).filter((h) => h.status < 300).length - before;
        s().workers[0].start();
      },
    });
  });

  it('2. Temporal server stopped and restarted on its PostgreSQL', async function () {
    this.timeout(600_000);
    const seqOf = (eventId: string) => Number(eventId.slice(eventId.lastIndexOf('-') + 1));
    await scenario(2, 'Temporal restart', {
      slow: true,
      policy: (hit, nth) => (seqOf(hit.eventId) % 2 === 0 && nth <= 3 ? 503 : 200),
      fault: async (run) => {
        const byStatus = async () => {
          const rows = await sql<{ status: string; n: string }>(`SELECT status, count(*) AS n FROM deliveries WHERE subscription_id = $1 GROUP BY status`, [run.subscriptionId]);
          return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)])) as Record<string, number>;
        };
        await until(async () => ((await byStatus()).retrying ?? 0) > 0, 60_000);
        const by = await byStatus();
        run.extra['retrying at stop'] = by.retrying ?? 0;
        run.extra['pending at stop'] = by.pending ?? 0;
        assert.ok(run.extra['retrying at stop'] > 0, 'some deliveries are retrying when Temporal stops');
        run.faultFrom = Date.now();
        await s().stopTemporal();
        await sleep(10_000);
        await s().startTemporal();
        await s().waitReady(0, 120_000);
        await s().waitReady(1, 120_000);
      },
    });
  });

  it('3. one API killed with SIGKILL after committing: the other keeps accepting, its reconciler starts the stranded', async function () {
    this.timeout(600_000);
    let stranded: { id: string; emission_id: string }[] = [];
    await scenario(3, 'API SIGKILL', {
      apis: [0, 1],
      fault: async (run) => {
        const [toKilled, toOther] = run.loads;
        await proxy!.cut();
        const cutAt = Date.now();
        const durable202 = () => toKilled.posts.filter((p) => p.sentAt >= cutAt && p.status === 202).length;
        await until(() => durable202() >= 3, 90_000);
        apiUp[0] = false; // from now on the client sends to API 1
        await s().apis[0].kill();
        const killedAt = Date.now();
        stranded = await sql(`SELECT id, emission_id FROM deliveries WHERE subscription_id = $1 AND NOT workflow_started`, [run.subscriptionId]);
        run.extra['stranded at kill'] = stranded.length;
        run.extra['of them answered 202'] = toKilled.posts.filter((p) => stranded.some((r) => r.emission_id === p.id) && p.status === 202).length;
        assert.ok(stranded.length > 0, 'the kill strands committed deliveries');
        // API 0 stays dead: API 1's reconciler must start them all
        const t0 = Date.now();
        const done = await until(async () => {
          const rows = await sql<{ n: string }>(`SELECT count(*) AS n FROM deliveries WHERE id = ANY($1) AND workflow_started AND status = 'success'`, [stranded.map((r) => r.id)]);
          return Number(rows[0].n) === stranded.length;
        }, 240_000, 1000);
        run.extra['reconciled and delivered by API 1 in s'] = ((Date.now() - t0) / 1000).toFixed(1);
        assert.ok(done, `API 1's reconciler started every stranded delivery (${stranded.length})\n${processTail()}`);
        const whileDead = toOther.posts.filter((p) => p.sentAt >= killedAt && p.status !== undefined);
        run.extra['posts to API 1 while API 0 was dead'] = whileDead.length;
        assert.ok(whileDead.length > 0, 'events kept coming to API 1');
        assert.deepEqual(whileDead.filter((p) => p.status !== 202).map((p) => `${p.id}: ${p.status}`), [], 'API 1 accepted every event while API 0 was dead');
        await proxy!.restore();
        s().apis[0].start();
        await s().waitReady(0, 120_000);
        apiUp[0] = true;
      },
    });
  });

  for (const [n, name] of [[1, 'worker SIGKILL'], [2, 'Temporal restart'], [3, 'API SIGKILL']] as const) {
    it(`${n}. ${name}: every accepted event delivered, none lost`, async function () {
      this.timeout(600_000);
      await account(n);
    });
  }
});
