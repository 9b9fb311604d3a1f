import assert from 'node:assert/strict';
import { Client as PgClient } from 'pg';
import { JiraFake, plainText } from '../fakes/jira';
import { DEFAULT_DELIVERY_NICE, threadNices } from '../../src/priority';
import { ProcessStack } from '../support/processes';

/**
 * Issue 17's fault test: the worker process is killed with SIGKILL while a lane holds three deliveries queued
 * behind a retrying creator. After a restart every delivery is made once, in the order ingest accepted them:
 * the waits, the creator's retry timer and the signals that hand the lane on survive the crash in Temporal.
 */
describe('ordered lanes survive a worker killed with SIGKILL (separate processes)', function () {
  this.timeout(300_000);
  let stack: ProcessStack;
  let jira: JiraFake;
  let pg: PgClient;

  before(async function () {
    this.timeout(240_000);
    stack = await ProcessStack.start();
    jira = await new JiraFake().start();
    pg = new PgClient({ connectionString: stack.databaseUrl });
    await pg.connect();
  });
  after(async () => {
    await pg?.end();
    await jira?.stop();
    await stack?.stop();
  });

  const sql = async <T>(text: string, params: unknown[] = []): Promise<T[]> => (await pg.query(text, params)).rows as T[];

  async function until(what: string, probe: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await probe())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it('delivers the creator and the three queued follow-ups once each, in order, after the kill', async () => {
    const conn = await stack.call('POST', '/connections', {
      provider: 'jira',
      name: 'Jira',
      config: { flavor: 'cloud', baseUrl: jira.url, email: jira.email, apiToken: jira.apiToken },
    });
    assert.equal(conn.status, 201, JSON.stringify(conn.body));
    for (const [event, scheduleMs] of [['incident.created', [4_000, 4_000]], ['incident.updated', [500]], ['incident.resolved', [500]]] as const) {
      const res = await stack.call('POST', '/subscriptions', {
        name: `jira ${event}`, provider: 'jira', connectionId: conn.body.id, event,
        config: { projectKey: 'OPS', issueTypeId: '10001' }, retryPolicy: { scheduleMs },
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
    }
    // the creator's first attempt fails, so it is retrying (a 4 s timer) while the follow-ups queue behind it
    jira.failNext('POST', /^issue$/, { status: 503, body: { errorMessages: ['Service unavailable'], errors: {} } }, 1);

    const ingest = async (event: string, payload: Record<string, unknown>) => {
      const res = await stack.call('POST', '/ingest', { event, payload: { incidentId: 'inc-kill', title: 'Checkout down', severity: 'major', ...payload } }, stack.ingestToken);
      assert.equal(res.status, 202, JSON.stringify(res.body));
      return res.body.deliveries[0].id as string;
    };
    const creator = await ingest('incident.created', {});
    const queued = [
      await ingest('incident.updated', { updateMessage: 'First update.' }),
      await ingest('incident.updated', { updateMessage: 'Second update.' }),
      await ingest('incident.resolved', { resolutionMessage: 'Fixed.' }),
    ];

    // the creator is retrying and every follow-up has looked at its lane and waits (no attempt)
    await until('the creator to retry and the three follow-ups to wait in the lane', async () => {
      const rows = await sql<{ id: string; waiting_for: string | null; attempts: number; status: string }>(
        'SELECT id, waiting_for, attempts, status FROM deliveries WHERE id = ANY($1)', [[creator, ...queued]],
      );
      const waiting = rows.filter((r) => r.id !== creator && r.waiting_for !== null && r.attempts === 0 && r.status === 'pending');
      return waiting.length === 3 && rows.some((r) => r.id === creator && r.status === 'retrying');
    });
    const waits = await sql<{ id: string; waiting_for: string }>('SELECT id, waiting_for FROM deliveries WHERE id = ANY($1)', [queued]);
    const waitingFor = Object.fromEntries(waits.map((w) => [w.id, w.waiting_for]));
    assert.deepEqual(queued.map((id) => waitingFor[id]), [creator, queued[0], queued[1]], 'each waits for the one accepted just before it');

    await stack.worker.kill();
    await new Promise((r) => setTimeout(r, 1_000));
    stack.worker.start();

    await until('every delivery of the lane to succeed', async () => {
      const rows = await sql<{ status: string }>('SELECT status FROM deliveries WHERE id = ANY($1)', [[creator, ...queued]]);
      return rows.length === 4 && rows.every((r) => r.status === 'success');
    }, 120_000);

    const issues = [...jira.issues.values()].filter((i) => i.fields.summary.includes('Checkout down'));
    assert.equal(issues.length, 1, 'one issue, made by the creator');
    const texts = issues[0].comments.map((c) => plainText(c.body));
    assert.equal(texts.length, 3, `one comment per follow-up, no repeat: ${JSON.stringify(texts)}`);
    assert.match(texts[0], /First update\./);
    assert.match(texts[1], /Second update\./);
    assert.match(texts[2], /Fixed\./);
    // each follow-up took one attempt, made after the one before it had ended
    const rows = await sql<{ id: string; attempts: number; started_at: Date }>(
      `SELECT d.id, d.attempts, a.started_at FROM deliveries d JOIN delivery_attempts a ON a.delivery_id = d.id WHERE d.id = ANY($1) ORDER BY a.started_at`, [queued],
    );
    assert.deepEqual(rows.map((r) => r.id), queued, 'attempted in lane order');
    assert.ok(rows.every((r) => r.attempts === 1), 'one attempt each');
  });

  it('runs the restarted worker and the Temporal server at DELIVERY_NICE (10), every thread, and the API at 0', () => {
    const worker = threadNices(stack.worker.child!.pid!);
    const temporal = threadNices(stack.temporal!.pid!);
    const api = threadNices(stack.api.child!.pid!);
    // the worker has its workflow threads and the SDK's runtime threads by now, all started after the nice was set
    assert.ok(worker.length > 8, `worker threads: ${worker.length}`);
    assert.deepEqual([...new Set(worker)], [DEFAULT_DELIVERY_NICE], `worker threads' nice values: ${worker}`);
    assert.deepEqual([...new Set(temporal)], [DEFAULT_DELIVERY_NICE], `Temporal server threads' nice values: ${temporal}`);
    assert.deepEqual([...new Set(api)], [0], `API threads' nice values: ${api}`);
  });
});
