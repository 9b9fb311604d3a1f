import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import { Client as PgClient } from 'pg';
import { Receiver } from '../fakes/receiver';
import { freeLowPort } from '../support/ports';
import { ProcessStack, ServiceProcess } from '../support/processes';
import { formatTally, tally, type FaultWindow, type LogRow, type Tally } from './accounting';
import { Ledger, type Policy } from './ledger';
import { LoadGenerator } from './load';
import { TcpProxy } from '../support/tcp-proxy';

/**
 * Issue 6: faults injected while deliveries flow at a steady rate. Each scenario counts events accepted,
 * delivered, lost (must be 0) and delivered more than once (allowed only for attempts in flight when the
 * fault hit, each repeat with the same delivery id). The service runs as separate OS processes; the API
 * reaches Temporal through a TCP proxy the test can cut, the worker reaches it directly.
 *
 * The scenarios run one after another on one stack, each leaving it healthy (ready, worker alive, a canary
 * event delivered). Their final accounting runs at the end, so the slow tail of one scenario (an attempt
 * lost with a killed worker is only retried when its 2-minute start-to-close timeout expires) overlaps
 * the next scenarios instead of adding to the wall time.
 *
 * The steady rate is what the stack sustains: a calibration burst measures its delivery throughput and
 * the scenarios post at 60 % of it, at most 20 events/s (FAULTS_RATE overrides). On a machine shared with
 * other work a fixed 20/s would build a backlog that no bounded wait could tell apart from a loss; for the
 * same reason each scenario first waits for the first attempts the earlier ones left (drainFirstAttempts).
 */

/** The most events per second posted during a scenario (the brief's rate); less when the stack cannot keep up. */
const MAX_RATE_PER_SECOND = 20;
/** Worker activity slots: the bound on attempts in flight when a fault hits, hence on duplicates. */
const WORKER_CONCURRENCY = 20;
/** Short enough for the receiver-down minute to end in success well within the suite. */
const RETRY_SCHEDULE_MS = [1000, 2000, 5000, 10000, 20000, 20000, 20000, 20000];
/** Steady flow before the fault and after recovery. */
const STEADY_MS = 4000;
/** A duplicate's first copy may precede the moment we record the fault start by this much. */
const WINDOW_SLACK_MS = 5000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it is true or `timeoutMs` passes; returns whether it became true. */
async function until(probe: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 500): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await probe()) return true;
    } catch {
      // a probe may fail while a dependency is down; keep polling
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
  load: LoadGenerator;
  faultFrom: number;
  faultTo: number;
  /** Scenario-specific facts for the printed line. */
  extra: Record<string, number | string>;
}

describe('fault injection: nothing accepted is lost (issue 6)', function () {
  const suite = `f${crypto.randomBytes(3).toString('hex')}`;
  const ledger = new Ledger();
  const runs = new Map<number, Run>();
  const windows: FaultWindow[] = [];
  const startedAt = Date.now();
  let stack: ProcessStack | undefined;
  let api: ServiceProcess | undefined;
  let temporalProxy: TcpProxy | undefined;
  let receiverProxy: TcpProxy | undefined;
  let slowReceiver: { url: string; stop(): Promise<void> } | undefined;
  let slowDelayMs = 0;
  let receiver: Receiver | undefined;
  let receiverPort = 0;
  let canarySubscriptionId = '';
  let rate = MAX_RATE_PER_SECOND;

  const s = () => stack!;

  async function sql<T>(text: string, params: unknown[]): Promise<T[]> {
    const c = new PgClient({ connectionString: s().databaseUrl });
    await c.connect();
    try {
      return (await c.query(text, params)).rows as T[];
    } finally {
      await c.end();
    }
  }

  async function createSubscription(name: string, systemId: string, url: string): Promise<string> {
    const r = await s().call('POST', '/subscriptions', {
      name,
      provider: 'webhook',
      event: 'incident.created',
      systemIds: [systemId],
      config: { url },
      retryPolicy: { scheduleMs: RETRY_SCHEDULE_MS },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.id as string;
  }

  async function listDeliveries(subscriptionId: string): Promise<LogRow[]> {
    const rows: LogRow[] = [];
    let cursor: string | undefined;
    do {
      const q = `/deliveries?subscriptionId=${subscriptionId}&limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const r = await s().call('GET', q);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      rows.push(...(r.body.items as LogRow[]));
      cursor = r.body.nextCursor ?? undefined;
    } while (cursor);
    return rows;
  }

  function processTail(): string {
    return [`--- api ---`, api?.output.join('').slice(-3000), `--- worker ---`, s().worker.output.join('').slice(-3000)].join('\n');
  }

  /** Ready (database and Temporal), the worker process alive, and one new event delivered end to end. */
  async function assertHealthy(label: string): Promise<void> {
    await s().waitReady(120_000);
    const w = s().worker.child;
    assert.ok(w && w.exitCode === null && w.signalCode === null, `the worker process is running\n${processTail()}`);
    const r = await s().call(
      'POST',
      '/ingest',
      { event: 'incident.created', id: `${suite}-canary-${label}`, systemIds: ['fault-canary'], payload: { incidentId: `canary-${label}`, title: 'canary', severity: 'minor' } },
      s().ingestToken,
    );
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const id = r.body.deliveries[0].id as string;
    const delivered = await until(async () => (await s().call('GET', `/deliveries/${id}`)).body.status === 'success', 240_000, 250);
    assert.ok(delivered, `the canary event after "${label}" is delivered\n${processTail()}`);
  }

  /**
   * One scenario: a subscription of its own (matched only by its events' system id), load at a steady rate,
   * the fault (which returns once the dependency is back), steady load again, then client retries of
   * 503/429/unanswered posts. Checks the ingest answers and the stack's health; the deliveries are
   * accounted for at the end of the suite.
   */
  async function scenario(
    n: number,
    name: string,
    opts: {
      fault: (run: Run) => Promise<void>;
      policy?: Policy;
      /** `cut`: through a proxy the scenario cuts; `slow`: to a receiver that takes its time to answer. */
      via?: 'cut' | 'slow';
      /** Events per second, when not the calibrated rate. */
      rate?: number;
      /** Runs after the load stops and before the client retries its unanswered posts. */
      beforeClientRetries?: (run: Run) => Promise<void>;
    },
  ): Promise<Run> {
    const path = `/s${n}`;
    const base = opts.via === 'cut' ? `http://127.0.0.1:${receiverProxy!.port}` : opts.via === 'slow' ? slowReceiver!.url : receiver!.url;
    const systemId = `${suite}-s${n}`;
    const subscriptionId = await createSubscription(`fault ${n}: ${name}`, systemId, `${base}${path}`);
    if (opts.policy) ledger.policy(path, opts.policy);
    const load = new LoadGenerator({ baseUrl: () => s().baseUrl, token: s().ingestToken, prefix: systemId, systemId });
    const perSecond = opts.rate ?? rate;
    const run: Run = { n, name, path, subscriptionId, load, faultFrom: 0, faultTo: 0, extra: { 'rate/s': perSecond } };
    runs.set(n, run);
    await drainFirstAttempts(run);

    load.start(perSecond);
    try {
      await sleep(STEADY_MS);
      run.faultFrom = Date.now();
      await opts.fault(run);
      run.faultTo = Date.now();
      await sleep(STEADY_MS);
    } finally {
      await load.stop();
      if (run.faultFrom) windows.push({ name, from: run.faultFrom - WINDOW_SLACK_MS, to: (run.faultTo || Date.now()) + WINDOW_SLACK_MS });
    }
    run.extra['fault s'] = ((run.faultTo - run.faultFrom) / 1000).toFixed(1);
    run.extra['slowest ingest answer s'] = (load.slowestAnswerMs() / 1000).toFixed(1);
    await opts.beforeClientRetries?.(run);
    await load.retryUnaccepted(Date.now() + 180_000);

    const statuses = load.statusCounts();
    console.log(`[faults] ${n}. ${name}: ingest first-try statuses ${JSON.stringify(statuses)}, posted ${load.posts.length}`);
    // never a 500; a 503/429 always says when to come back; a client retry is always answered 2xx in the end
    assert.equal(statuses['500'] ?? 0, 0, `no ingest answer is a 500: ${JSON.stringify(statuses)}\nthe API's error lines:\n${api?.errorLines.join('\n').slice(-6000) || '(none)'}`);
    const unexpected = Object.keys(statuses).filter((k) => !['200', '202', '503', '429', 'network', 'timeout'].includes(k));
    assert.deepEqual(unexpected, [], `ingest answers only 2xx, 503 or 429: ${JSON.stringify(statuses)}`);
    for (const p of load.posts.filter((x) => x.status === 503 || x.status === 429)) {
      assert.ok(Number(p.retryAfter) >= 1, `${p.id}: a ${p.status} carries Retry-After (got ${p.retryAfter})`);
    }
    const stillRefused = load.retryable().filter((p) => !p.retries.some((r) => r === 200 || r === 202));
    assert.deepEqual(stillRefused.map((p) => `${p.id}: ${p.retries.join(',')}`), [], 'every client retry after the fault is accepted');
    await assertHealthy(`s${n}`);
    return run;
  }

  /**
   * Waits until every delivery of the scenario is done, then prints and checks its books. Bounded: at least
   * 4 minutes after the fault (an attempt lost with its worker is retried only when the activity's 2-minute
   * start-to-close timeout expires), longer while deliveries still progress, never past 10 minutes.
   */
  async function account(n: number): Promise<void> {
    const run = runs.get(n);
    assert.ok(run, `scenario ${n} ran`);
    const soft = Math.max(run.faultTo + 240_000, Date.now() + 30_000);
    const hard = Math.max(run.faultTo + 600_000, Date.now() + 60_000);
    let t: Tally;
    let rows: LogRow[];
    let progress = { delivered: -1, at: Date.now() };
    for (;;) {
      rows = await listDeliveries(run.subscriptionId);
      t = tally(run.load.posts, rows, ledger.forPath(run.path), windows);
      if (t.delivered > progress.delivered) progress = { delivered: t.delivered, at: Date.now() };
      const now = Date.now();
      if (t.missing.length === 0 || now > hard || (now > soft && now - progress.at > 60_000)) break;
      await sleep(2000);
    }
    const hits = ledger.forPath(run.path).filter((h) => h.status < 300);
    const lastHit = Math.max(...hits.map((h) => h.at));
    // the log is exact: a repeat only follows an attempt it records as not successful (typically
    // `attempt_lost`: the worker or the activity's completion was lost, so the receiver may have seen it)
    const logged = await sql<{ delivery_id: string; unsuccessful: string; lost: string }>(
      `SELECT a.delivery_id, count(*) FILTER (WHERE a.outcome <> 'success') AS unsuccessful,
              count(*) FILTER (WHERE a.error_code = 'attempt_lost') AS lost
       FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id
       WHERE d.subscription_id = $1 GROUP BY a.delivery_id`,
      [run.subscriptionId],
    );
    const unsuccessful = new Map(logged.map((r) => [r.delivery_id, Number(r.unsuccessful)]));
    const copies = new Map<string, number>();
    for (const h of hits) copies.set(h.webhookId, (copies.get(h.webhookId) ?? 0) + 1);
    const unexplained = [...copies]
      .filter(([id, c]) => c - 1 > (unsuccessful.get(id) ?? 0))
      .map(([id, c]) => `${id}: ${c} copies answered 2xx, ${unsuccessful.get(id) ?? 0} unsuccessful attempts logged`);
    console.log(
      formatTally(n, run.name, t, {
        ...run.extra,
        'attempts logged as lost': logged.reduce((a, r) => a + Number(r.lost), 0),
        'last delivery s after recovery': ((lastHit - run.faultTo) / 1000).toFixed(1),
      }),
    );
    // compact: a CI log shows only its tail, so a failure says what state the undelivered rows are in, not 500 ids
    if (t.missing.length > 0) {
      const why = await diagnose(run, t.missing, progress.at);
      console.log(`[faults] ${n}. ${run.name}: ${t.missing.length} not delivered\n${why}`);
      assert.fail(`${n}. ${run.name}: ${t.lost.length} accepted events and ${t.missing.length} committed deliveries not delivered\n${why}`);
    }
    assert.equal(t.failedInLog, 0, 'no delivery ends failed');
    const none = (list: string[], what: string) => assert.equal(list.length, 0, `${n}. ${run.name}: ${what}; ${list.length} do not, e.g. ${list.slice(0, 5).join('; ')}`);
    none(t.answerMismatches, 'every 2xx names exactly the one delivery the log holds for the event');
    none(t.idMismatches, 'every request about an event carries its one delivery id (webhook-id)');
    none(t.duplicatesOutsideFaults, 'duplicates only for attempts in flight at a fault');
    none(unexplained, 'every repeat follows an attempt the log records as unsuccessful');
    assert.ok(t.duplicates <= WORKER_CONCURRENCY, `duplicates (${t.duplicates}) ≤ attempts that can be in flight (${WORKER_CONCURRENCY})`);
    assert.ok(t.acceptedFirstTry + t.acceptedOnRetry > 0, 'the scenario accepted events');
  }

  /**
   * What a failed account needs to tell apart "slow" from "stuck": the undelivered rows by state (from the
   * database), whether the receiver saw them, when the last one completed, and what used the CPU.
   */
  async function diagnose(run: Run, missing: string[], lastProgressAt: number): Promise<string> {
    const byState = await sql<{ status: string; started: boolean; waiting: boolean; attempts: number; n: string; due_s: string | null; error: string | null }>(
      `SELECT status, workflow_started AS started, waiting_for IS NOT NULL AS waiting, attempts, count(*) AS n,
              round(extract(epoch FROM min(next_retry_at) - now())) AS due_s, min(error) AS error
       FROM deliveries WHERE id = ANY($1) GROUP BY 1, 2, 3, 4 ORDER BY n DESC LIMIT 12`,
      [missing],
    ).catch((e: Error) => [{ status: `query failed: ${e.message}` }] as never[]);
    const seen = new Set(ledger.forPath(run.path).map((h) => h.webhookId));
    const pending = await sql<{ n: string }>(`SELECT count(*) AS n FROM deliveries WHERE status IN ('pending', 'retrying')`, []).catch(() => [{ n: '?' }]);
    let top = '';
    try {
      top = execFileSync('ps', ['-eo', 'pid,ni,pcpu,etimes,rss,comm', '--sort=-pcpu'], { encoding: 'utf8' }).split('\n').slice(0, 9).join('\n');
    } catch (e) {
      top = `ps failed: ${(e as Error).message}`;
    }
    return [
      `undelivered by state (status, workflow started, waiting for a lane predecessor, attempts, count, next retry in s, an error):`,
      ...byState.map((r) => `  ${r.status} started=${r.started} waiting=${r.waiting} attempts=${r.attempts} n=${r.n} due_s=${r.due_s} error=${(r.error ?? '').slice(0, 120)}`),
      `requests the receiver got for them: ${missing.filter((id) => seen.has(id)).length} of ${missing.length}; first ids ${missing.slice(0, 3).join(', ')}`,
      `last delivery completed ${((Date.now() - lastProgressAt) / 1000).toFixed(0)} s ago; pending or retrying in the whole database: ${pending[0].n}`,
      `the fault suite's calibrated rate ${rate}/s; the scenario's ${run.extra['rate/s']}/s; waited for the earlier backlog ${run.extra['waited for backlog s'] ?? 0} s`,
      `processes by CPU:\n${top}`,
      processTail(),
    ].join('\n');
  }

  /**
   * Before a scenario's load starts, the first attempts the earlier scenarios left waiting are made: a machine
   * that slows down after calibration (CI on a shared host) would otherwise pile each scenario's backlog onto
   * the next until no bounded wait tells it from a loss. Retry timers (`retrying`) do not hold it up.
   * Progress-bounded: it gives up after a minute in which nothing was delivered, and the accounts report why.
   */
  async function drainFirstAttempts(run: Run): Promise<void> {
    const t0 = Date.now();
    // one connection for the whole wait, not one per look (the stack under test pays for each backend started)
    const c = new PgClient({ connectionString: s().databaseUrl });
    await c.connect();
    try {
      const pendingNow = async () => Number((await c.query(`SELECT count(*) AS n FROM deliveries WHERE status = 'pending'`)).rows[0].n);
      let last = { n: await pendingNow(), at: Date.now() };
      while (last.n > 0 && Date.now() - last.at < 60_000) {
        await sleep(500);
        const n = await pendingNow();
        if (n < last.n) last = { n, at: Date.now() };
      }
    } finally {
      await c.end();
    }
    run.extra['waited for backlog s'] = ((Date.now() - t0) / 1000).toFixed(1);
  }

  before(async function () {
    this.timeout(420_000);
    stack = await ProcessStack.start({ WORKER_MAX_CONCURRENT_ACTIVITIES: String(WORKER_CONCURRENCY) });
    // the API is restarted with its Temporal connection through a proxy we can cut; the worker stays direct
    // proxies listen below the ephemeral range, so a port they free while cut cannot be taken meanwhile (see freeLowPort)
    temporalProxy = await new TcpProxy({ host: '127.0.0.1', port: s().ports.temporal }).start(await freeLowPort());
    await s().api.stop();
    api = new ServiceProcess('api', () => ({ ...s().env(), TEMPORAL_ADDRESS: temporalProxy!.address }));
    api.start();
    await s().waitReady(120_000);
    assert.ok(temporalProxy.connections > 0, 'the API reaches Temporal through the proxy');

    receiver = await new Receiver().start();
    ledger.attach(receiver);
    receiverPort = Number(new URL(receiver.url).port);
    receiverProxy = await new TcpProxy({ host: '127.0.0.1', port: receiverPort }).start(await freeLowPort());
    slowReceiver = await ledger.serveSlowly(() => slowDelayMs);
    canarySubscriptionId = await createSubscription('fault canary', 'fault-canary', `http://127.0.0.1:${receiverPort}/canary`);
    await assertHealthy('start');
    rate = await calibrate();
    // a receiver that takes its time, so attempts are in flight when a fault hits (about 1.5 at 1/s, 10 at 20/s)
    slowDelayMs = Math.min(1500, Math.round((WORKER_CONCURRENCY / 2 / rate) * 1000));
  });

  /**
   * Posts a 2-second burst at twice the brief's rate and times its deliveries (waiting at most a minute):
   * the scenarios then post at 60% of the measured throughput, at most 20/s, a rate the stack sustains.
   */
  async function calibrate(): Promise<number> {
    if (process.env.FAULTS_RATE) return Number(process.env.FAULTS_RATE);
    const systemId = `${suite}-cal`;
    await createSubscription('fault calibration', systemId, `http://127.0.0.1:${receiverPort}/calibration`);
    const load = new LoadGenerator({ baseUrl: () => s().baseUrl, token: s().ingestToken, prefix: systemId, systemId });
    const t0 = Date.now();
    load.start(2 * MAX_RATE_PER_SECOND);
    await sleep(2000);
    await load.stop();
    const ids = new Set(load.accepted().flatMap((p) => p.deliveryIds));
    const seen = () => new Set(ledger.forPath('/calibration').filter((h) => h.status < 300 && ids.has(h.webhookId)).map((h) => h.webhookId));
    await until(() => seen().size === ids.size, 60_000, 250);
    const delivered = seen().size;
    assert.ok(delivered > 0, `the calibration burst is being delivered (0/${ids.size})\n${processTail()}`);
    const elapsedS = ((delivered === ids.size ? Math.max(...ledger.forPath('/calibration').map((h) => h.at)) : Date.now()) - t0) / 1000;
    const throughput = delivered / elapsedS;
    const chosen = Math.max(1, Math.min(MAX_RATE_PER_SECOND, Math.floor(0.6 * throughput)));
    console.log(`[faults] calibration: ${delivered}/${ids.size} deliveries in ${elapsedS.toFixed(1)} s (${throughput.toFixed(1)}/s); steady rate ${chosen} events/s`);
    return chosen;
  }

  after(async function () {
    this.timeout(120_000);
    await api?.stop();
    await stack?.stop();
    await temporalProxy?.stop();
    await receiverProxy?.stop();
    await slowReceiver?.stop();
    await receiver?.stop();
    console.log(`[faults] suite wall time ${((Date.now() - startedAt) / 1000).toFixed(0)} s (canary subscription ${canarySubscriptionId})`);
  });

  // Run order: the receiver outage first, since its retry tail (up to ~80 s after the receiver is back)
  // then overlaps the other faults; the API kill last, since its reconciler check completes inline.
  it('5. receiver down for a minute (connection refused), then back', async function () {
    this.timeout(420_000);
    await scenario(5, 'receiver down 60 s', {
      via: 'cut',
      // about five attempts per event fall inside the minute: half the rate keeps that retry storm near capacity
      rate: Math.max(1, Math.round(rate / 2)),
      fault: async () => {
        await receiverProxy!.cut();
        await sleep(60_000);
        await receiverProxy!.restore();
      },
    });
  });

  it('1. worker killed with SIGKILL and restarted', async function () {
    this.timeout(420_000);
    await scenario(1, 'worker SIGKILL', {
      via: 'slow',
      fault: async (run) => {
        await s().worker.kill();
        await sleep(3000);
        s().worker.start();
        // the worker is back once it runs workflows again: a delivery of this scenario completes
        const before = ledger.forPath(run.path).length;
        assert.ok(await until(() => ledger.forPath(run.path).length > before, 180_000), 'the restarted worker delivers');
      },
    });
  });

  it('3. Temporal dev server stopped and restarted on the same database file', async function () {
    this.timeout(420_000);
    const seqOf = (eventId: string) => Number(eventId.slice(eventId.lastIndexOf('-') + 1));
    await scenario(3, 'Temporal restart', {
      via: 'slow',
      // every other event is refused three times first, so deliveries are retrying when Temporal stops
      policy: (hit, nth) => (seqOf(hit.eventId) % 2 === 0 && nth <= 3 ? 503 : 200),
      fault: async (run) => {
        const byStatus = async () => {
          const rows = await sql<{ status: string; n: string }>(
            `SELECT status, count(*) AS n FROM deliveries WHERE subscription_id = $1 GROUP BY status`,
            [run.subscriptionId],
          );
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
        await s().waitReady(120_000);
      },
    });
  });

  it('4. PostgreSQL stopped for 30 seconds and started again', async function () {
    this.timeout(420_000);
    await scenario(4, 'PostgreSQL down 30 s', {
      fault: async () => {
        await s().stopPostgres();
        await sleep(30_000);
        await s().startPostgres();
        await s().waitReady(120_000);
      },
    });
    const statuses = runs.get(4)!.load.statusCounts();
    assert.ok((statuses['503'] ?? 0) > 0, `ingest answered 503 while the database was down: ${JSON.stringify(statuses)}`);
  });

  it('2. API killed with SIGKILL after committing, before starting workflows; the reconciler starts them', async function () {
    this.timeout(420_000);
    let stranded: { id: string; emission_id: string }[] = [];
    await scenario(2, 'API SIGKILL, reconciler', {
      fault: async (run) => {
        await temporalProxy!.cut();
        const cutAt = Date.now();
        // the API still commits: a post made after the cut is answered 202 once its workflow start gives up
        const durable202 = () => run.load.posts.filter((p) => p.sentAt >= cutAt && p.status === 202).length;
        await until(() => durable202() >= 3, 90_000);
        await api!.kill();
        stranded = await sql(`SELECT id, emission_id FROM deliveries WHERE subscription_id = $1 AND NOT workflow_started`, [run.subscriptionId]);
        const strandedEmissions = new Set(stranded.map((r) => r.emission_id));
        const acked = run.load.posts.filter((p) => strandedEmissions.has(p.id) && p.status === 202).length;
        run.extra['stranded at kill'] = stranded.length;
        run.extra['of them answered 202'] = acked;
        run.extra['unanswered (killed mid-request)'] = stranded.length - acked;
        assert.ok(acked > 0, `some stranded deliveries were acknowledged 202 before the kill (stranded ${stranded.length})`);
        await temporalProxy!.restore();
        api!.start();
        await s().waitReady(120_000);
      },
      // the reconciler, not a client retry, must start every stranded delivery
      beforeClientRetries: async (run) => {
        const ids = stranded.map((r) => r.id);
        const t0 = Date.now();
        const done = await until(async () => {
          const rows = await sql<{ n: string }>(
            `SELECT count(*) AS n FROM deliveries WHERE id = ANY($1) AND workflow_started AND status = 'success'`,
            [ids],
          );
          return Number(rows[0].n) === ids.length;
        }, 300_000, 1000);
        run.extra['reconciled and delivered in s'] = ((Date.now() - t0) / 1000).toFixed(1);
        assert.ok(done, `the reconciler started every stranded delivery (${ids.length})\n${processTail()}`);
      },
    });
  });

  for (const [n, name] of [
    [1, 'worker SIGKILL'],
    [2, 'API SIGKILL'],
    [3, 'Temporal restart'],
    [4, 'PostgreSQL down'],
    [5, 'receiver down'],
  ] as const) {
    it(`${n}. ${name}: every accepted event delivered, none lost, duplicates only from attempts in flight`, async function () {
      this.timeout(700_000);
      await account(n);
    });
  }
});
