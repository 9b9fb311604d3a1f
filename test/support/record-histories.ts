// Records the histories the replay test (test/unit/replay.test.ts) replays: real runs of each delivery workflow
// version, and of the recovery, replay and retention workflows, through the real pipeline (API, worker, PostgreSQL, Temporal dev server, local fakes).
// Run it after a change that adds a workflow path worth pinning, and commit the files it writes:
//   npx tsc -p tsconfig.json && node dist/src/temporal/bundle.js && node dist/test/support/record-histories.js [pattern] [suffix]
// `pattern` (a regular expression) picks scenarios by name; `suffix` is added to each file name, e.g. "@<commit>"
// for histories recorded on an older version of the workflow code (open runs of that code must replay too).
// Histories hold ids, statuses and sanitised outcomes only (DESIGN.md decision 3); the recorder checks that no
// secret of its fakes is in them before it writes.
import { temporal } from '@temporalio/proto';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { targetLimits } from '../../src/targets/rate-limits';
import { jiraProvider } from '../../providers/jira';
import { cancelUpdate, redeliverUpdate } from '../../workflows/types';
import { JiraFake } from '../fakes/jira';
import { Receiver } from '../fakes/receiver';
import { historyText } from './history';
import { Hub, INGEST_TOKEN, waitFor } from './hub';
import { PROJECT_ROOT, getStack, stopStack } from './stack';

/** Where the replay test finds the histories. */
export const HISTORIES_DIR = path.join(PROJECT_ROOT, 'test', 'fixtures', 'histories');

/** How histories are written (and so read back by the replay test). */
export const HISTORY_JSON = { longs: String, enums: String, bytes: String } as const;

/** A low threshold, so the long scenario continues as new (the default is thousands of events). */
const SUGGEST_CONTINUE_AS_NEW_AFTER_EVENTS = 40;

interface Ctx {
  hub: Hub;
  receiver: Receiver;
  jira: JiraFake;
  jiraConnectionId: string;
}

/** One scenario: it drives deliveries and returns the workflow ids (all runs of each are recorded). */
type Scenario = (ctx: Ctx) => Promise<string[]>;

let seq = 0;
/** The webhook's bearer token: it must not appear in any history. */
const BEARER = 'recorder-bearer-0123456789abcdef';

async function webhook(ctx: Ctx, event: string, scheduleMs: number[]): Promise<void> {
  const res = await ctx.hub.call('POST', '/subscriptions', {
    name: `record ${event}`,
    provider: 'webhook',
    event,
    config: { url: `${ctx.receiver.url}/hook`, auth: { type: 'bearer', token: BEARER } },
    retryPolicy: { scheduleMs },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
}

async function jiraSubscription(ctx: Ctx, event: string, scheduleMs: number[], extra: Record<string, unknown> = {}): Promise<void> {
  const res = await ctx.hub.call('POST', '/subscriptions', {
    name: `record jira ${event}`,
    provider: 'jira',
    connectionId: ctx.jiraConnectionId,
    event,
    config: { projectKey: 'OPS', issueTypeId: '10001' },
    retryPolicy: { scheduleMs },
    ...extra,
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
}

async function ingest(ctx: Ctx, event: string, subject = `inc-${++seq}`, extra: Record<string, unknown> = {}): Promise<{ id: string; workflowId: string }> {
  const id = `record-${event}-${subject}-${Date.now()}`;
  const res = await ctx.hub.call('POST', '/ingest', { event, id, payload: { incidentId: subject, title: `Outage ${subject}`, severity: 'major', ...extra } }, INGEST_TOKEN);
  assert.equal(res.status, 202, JSON.stringify(res.body));
  const rows: { id: string; workflow_id: string }[] = await ctx.hub.dataSource.query('SELECT id, workflow_id FROM deliveries WHERE emission_id = $1', [id]);
  assert.equal(rows.length, 1, `one delivery for ${id}`);
  return { id: rows[0].id, workflowId: rows[0].workflow_id };
}

async function status(ctx: Ctx, deliveryId: string, wanted: string): Promise<void> {
  await waitFor(async () => (await ctx.hub.call('GET', `/deliveries/${deliveryId}`)).body.status === wanted, `delivery ${deliveryId} to be ${wanted}`, 60_000);
}

async function closed(workflowId: string): Promise<void> {
  const { client } = await getStack();
  await waitFor(async () => (await client.workflow.getHandle(workflowId).describe()).status.name !== 'RUNNING', `${workflowId} to close`, 60_000);
}

/**
 * A delivery run by the first workflow (as runs started before V2 were): ingested with the worker stopped,
 * its V2 run terminated and a V1 run started in its place.
 */
async function v1(ctx: Ctx, event: string, subject?: string, extra?: Record<string, unknown>): Promise<{ id: string; workflowId: string }> {
  const { client } = await getStack();
  await ctx.hub.stopWorker();
  try {
    const d = await ingest(ctx, event, subject, extra);
    await waitFor(async () => (await ctx.hub.dataSource.query('SELECT workflow_started FROM deliveries WHERE id = $1', [d.id]))[0]?.workflow_started, 'the V2 start');
    await client.workflow.getHandle(d.workflowId).terminate('replaced by a V1 run (history recorder)');
    const workflowId = `${d.workflowId}:v1`;
    await client.workflow.start('deliveryWorkflow', { workflowId, taskQueue: ctx.hub.config.temporal.taskQueue, args: [{ deliveryId: d.id }] });
    return { id: d.id, workflowId };
  } finally {
    await ctx.hub.startWorker();
  }
}

async function update(workflowId: string, which: 'redeliver' | 'cancel'): Promise<void> {
  const { client } = await getStack();
  const h = client.workflow.getHandle(workflowId);
  if (which === 'redeliver') await h.executeUpdate(redeliverUpdate);
  else await h.executeUpdate(cancelUpdate, { args: ['Cancelled by the history recorder'] });
}

const fail503 = (ctx: Ctx, times: number) => {
  for (let i = 0; i < times; i++) ctx.receiver.script.push({ status: 503 });
};

const scenarios: Record<string, Scenario> = {
  async 'v3-success'(ctx) {
    await webhook(ctx, 'incident.created', [200]);
    const d = await ingest(ctx, 'incident.created');
    await status(ctx, d.id, 'success');
    return [d.workflowId];
  },
  async 'v3-retries'(ctx) {
    await webhook(ctx, 'incident.created', [200, 200, 200]);
    fail503(ctx, 2);
    const d = await ingest(ctx, 'incident.created');
    await status(ctx, d.id, 'success');
    return [d.workflowId];
  },
  async 'v3-throttled'(ctx) {
    // the target asked to slow down (a learned limit): the attempt sends nothing and the workflow sleeps
    await webhook(ctx, 'incident.created', [200]);
    await targetLimits(ctx.hub.dataSource).learn(ctx.receiver.url, 1_500, 429);
    const d = await ingest(ctx, 'incident.created');
    await status(ctx, d.id, 'success');
    return [d.workflowId];
  },
  async 'v3-retries-exhausted'(ctx) {
    await webhook(ctx, 'incident.created', [200]);
    fail503(ctx, 2);
    const d = await ingest(ctx, 'incident.created');
    await status(ctx, d.id, 'failed');
    return [d.workflowId];
  },
  async 'v3-held-by-circuit'(ctx) {
    await webhook(ctx, 'incident.created', [200]);
    // the receiver's circuit is open for another second: the attempt is held (a timer), then goes as the probe
    await ctx.hub.dataSource.query(
      `INSERT INTO target_health (target_key, provider, state, opened_at, probe_at) VALUES ($1, 'webhook', 'open', now(), now() + interval '1 second')
       ON CONFLICT (target_key) DO UPDATE SET state = 'open', opened_at = now(), probe_at = now() + interval '1 second'`,
      [ctx.receiver.url],
    );
    const d = await ingest(ctx, 'incident.created');
    await status(ctx, d.id, 'success');
    return [d.workflowId];
  },
  async 'v3-redeliver-wakes'(ctx) {
    await webhook(ctx, 'incident.created', [3_600_000]);
    fail503(ctx, 1);
    const d = await ingest(ctx, 'incident.created');
    await status(ctx, d.id, 'retrying');
    const res = await ctx.hub.call('POST', `/deliveries/${d.id}/retry`);
    assert.equal(res.body.action, 'woken', JSON.stringify(res.body));
    await status(ctx, d.id, 'success');
    return [d.workflowId];
  },
  async 'v3-redeliver-restarts'(ctx) {
    await webhook(ctx, 'incident.created', [200]);
    const d = await ingest(ctx, 'incident.created');
    await status(ctx, d.id, 'success');
    await closed(d.workflowId);
    const res = await ctx.hub.call('POST', `/deliveries/${d.id}/retry`);
    assert.equal(res.body.action, 'restarted', JSON.stringify(res.body));
    await waitFor(async () => (await ctx.hub.call('GET', `/deliveries/${d.id}`)).body.attempts === 2, 'the manual attempt');
    await closed(d.workflowId);
    return [d.workflowId];
  },
  async 'v3-cancel'(ctx) {
    await webhook(ctx, 'incident.created', [3_600_000]);
    fail503(ctx, 1);
    const d = await ingest(ctx, 'incident.created');
    await status(ctx, d.id, 'retrying');
    const res = await ctx.hub.call('POST', `/deliveries/${d.id}/cancel`);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    await closed(d.workflowId);
    return [d.workflowId];
  },
  async 'v3-follow-up-waits'(ctx) {
    await jiraSubscription(ctx, 'incident.created', [1_500, 1_500]);
    await jiraSubscription(ctx, 'incident.updated', [200]);
    ctx.jira.failNext('POST', /^issue$/, { status: 503, body: { errorMessages: ['Service unavailable'], errors: {} } }, 1);
    const subject = `inc-follow-${++seq}`;
    const creator = await ingest(ctx, 'incident.created', subject);
    await status(ctx, creator.id, 'retrying');
    const follower = await ingest(ctx, 'incident.updated', subject, { updateMessage: 'Mitigated.' });
    await status(ctx, creator.id, 'success');
    await status(ctx, follower.id, 'success');
    return [creator.workflowId, follower.workflowId];
  },
  async 'v3-lane-waits'(ctx) {
    // ordered lanes: the follow-up waits behind its retrying creator (no attempt) and is signalled when it ends
    await jiraSubscription(ctx, 'incident.created', [1_500, 1_500]);
    await jiraSubscription(ctx, 'incident.updated', [200]);
    ctx.jira.failNext('POST', /^issue$/, { status: 503, body: { errorMessages: ['Service unavailable'], errors: {} } }, 1);
    const subject = `inc-lane-${++seq}`;
    const creator = await ingest(ctx, 'incident.created', subject);
    const follower = await ingest(ctx, 'incident.updated', subject, { updateMessage: 'Mitigated.' });
    await status(ctx, creator.id, 'success');
    await status(ctx, follower.id, 'success');
    await closed(follower.workflowId);
    return [creator.workflowId, follower.workflowId];
  },
  async 'v3-lane-superseded'(ctx) {
    // ordered lanes with coalescing: the update queued behind the creator ends superseded by the resolve
    await jiraSubscription(ctx, 'incident.created', [1_500, 1_500]);
    await jiraSubscription(ctx, 'incident.updated', [200], { coalesceFollowUps: true });
    await jiraSubscription(ctx, 'incident.resolved', [200]);
    ctx.jira.failNext('POST', /^issue$/, { status: 503, body: { errorMessages: ['Service unavailable'], errors: {} } }, 1);
    const subject = `inc-lane-${++seq}`;
    const creator = await ingest(ctx, 'incident.created', subject);
    const update = await ingest(ctx, 'incident.updated', subject, { updateMessage: 'Mitigated.' });
    const resolve = await ingest(ctx, 'incident.resolved', subject);
    await status(ctx, creator.id, 'success');
    await status(ctx, update.id, 'superseded');
    await status(ctx, resolve.id, 'success');
    await closed(resolve.workflowId);
    return [creator.workflowId, update.workflowId, resolve.workflowId];
  },
  async 'v3-not-found'(ctx) {
    await webhook(ctx, 'incident.created', [1_000]);
    fail503(ctx, 1);
    const d = await ingest(ctx, 'incident.created');
    await status(ctx, d.id, 'retrying');
    await ctx.hub.dataSource.query('DELETE FROM deliveries WHERE id = $1', [d.id]);
    await closed(d.workflowId);
    return [d.workflowId];
  },
  async 'v3-continues-as-new'(ctx) {
    await webhook(ctx, 'incident.created', Array.from({ length: 9 }, () => 100));
    fail503(ctx, 8);
    const d = await ingest(ctx, 'incident.created');
    await status(ctx, d.id, 'success');
    await closed(d.workflowId);
    return [d.workflowId];
  },
  async 'v1-success'(ctx) {
    await webhook(ctx, 'incident.created', [200]);
    const d = await v1(ctx, 'incident.created');
    await closed(d.workflowId);
    return [d.workflowId];
  },
  async 'v1-retries'(ctx) {
    await webhook(ctx, 'incident.created', [200, 200, 200]);
    fail503(ctx, 2);
    const d = await v1(ctx, 'incident.created');
    await closed(d.workflowId);
    return [d.workflowId];
  },
  async 'v1-redeliver-wakes'(ctx) {
    await webhook(ctx, 'incident.created', [3_600_000]);
    fail503(ctx, 1);
    const d = await v1(ctx, 'incident.created');
    await status(ctx, d.id, 'retrying');
    await update(d.workflowId, 'redeliver');
    await closed(d.workflowId);
    return [d.workflowId];
  },
  async 'v1-cancel'(ctx) {
    await webhook(ctx, 'incident.created', [3_600_000]);
    fail503(ctx, 1);
    const d = await v1(ctx, 'incident.created');
    await status(ctx, d.id, 'retrying');
    await update(d.workflowId, 'cancel');
    await closed(d.workflowId);
    return [d.workflowId];
  },
  async 'v1-follow-up-waits'(ctx) {
    await jiraSubscription(ctx, 'incident.created', [1_500, 1_500]);
    await jiraSubscription(ctx, 'incident.updated', [200]);
    ctx.jira.failNext('POST', /^issue$/, { status: 503, body: { errorMessages: ['Service unavailable'], errors: {} } }, 1);
    const subject = `inc-follow-${++seq}`;
    const creator = await ingest(ctx, 'incident.created', subject);
    await status(ctx, creator.id, 'retrying');
    const follower = await v1(ctx, 'incident.updated', subject, { updateMessage: 'Mitigated.' });
    await status(ctx, creator.id, 'success');
    await closed(follower.workflowId);
    return [follower.workflowId];
  },
  async 'v1-not-found'(ctx) {
    await webhook(ctx, 'incident.created', [1_000]);
    fail503(ctx, 1);
    const d = await v1(ctx, 'incident.created');
    await status(ctx, d.id, 'retrying');
    await ctx.hub.dataSource.query('DELETE FROM deliveries WHERE id = $1', [d.id]);
    await closed(d.workflowId);
    return [d.workflowId];
  },
  async recovery(ctx) {
    await webhook(ctx, 'incident.created', []);
    const since = new Date(Date.now() - 1000).toISOString();
    fail503(ctx, 2);
    const a = await ingest(ctx, 'incident.created');
    const b = await ingest(ctx, 'incident.created');
    await status(ctx, a.id, 'failed');
    await status(ctx, b.id, 'failed');
    const res = await ctx.hub.call('POST', '/deliveries/recover', { status: 'failed', since });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    await waitFor(async () => (await ctx.hub.call('GET', `/deliveries/recover/${res.body.id}`)).body.status === 'done', 'the recovery');
    return [`recovery:${res.body.id}`];
  },
  async replay(ctx) {
    // a subscription created after two events reaches them through a replay of the range
    const since = new Date(Date.now() - 1000).toISOString();
    for (let i = 0; i < 2; i++) {
      const subject = `inc-${++seq}`;
      const payload = { incidentId: subject, title: `Outage ${subject}`, severity: 'major' };
      const res = await ctx.hub.call('POST', '/ingest', { event: 'incident.created', id: `record-missed-${subject}-${Date.now()}`, payload }, INGEST_TOKEN);
      assert.equal(res.status, 202, JSON.stringify(res.body));
      assert.deepEqual(res.body.deliveries, [], 'no subscription takes it yet');
    }
    const sub = await ctx.hub.call('POST', '/subscriptions', {
      name: 'record replay',
      provider: 'webhook',
      event: 'incident.created',
      config: { url: `${ctx.receiver.url}/hook`, auth: { type: 'bearer', token: BEARER } },
    });
    assert.equal(sub.status, 201, JSON.stringify(sub.body));
    const res = await ctx.hub.call('POST', `/subscriptions/${sub.body.id}/replay`, { since });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    await waitFor(async () => (await ctx.hub.call('GET', `/subscriptions/${sub.body.id}/replay/${res.body.id}`)).body.status === 'done', 'the replay');
    const done = await ctx.hub.call('GET', `/subscriptions/${sub.body.id}/replay/${res.body.id}`);
    assert.equal(done.body.delivered, 2, JSON.stringify(done.body));
    return [`replay:${res.body.id}`];
  },
  async retention(ctx) {
    // two delivered events aged past RETENTION_DAYS (30 by default): one run purges their rows and emissions
    await webhook(ctx, 'incident.created', []);
    const a = await ingest(ctx, 'incident.created');
    const b = await ingest(ctx, 'incident.created');
    await status(ctx, a.id, 'success');
    await status(ctx, b.id, 'success');
    for (const d of [a, b]) {
      await ctx.hub.dataSource.query(
        `UPDATE emissions SET received_at = now() - interval '40 days' WHERE id = (SELECT emission_id FROM deliveries WHERE id = $1)`,
        [d.id],
      );
      await ctx.hub.dataSource.query(`UPDATE deliveries SET created_at = now() - interval '40 days', updated_at = now() - interval '40 days' WHERE id = $1`, [d.id]);
    }
    const { client } = await getStack();
    const workflowId = `retention-record-${Date.now()}`;
    const totals = await client.workflow.execute('retentionWorkflow', { workflowId, taskQueue: ctx.hub.config.temporal.taskQueue, args: [{}] });
    assert.ok((totals as Record<string, number>).deliveries >= 2, JSON.stringify(totals));
    return [workflowId];
  },
};

/** Writes every run of `workflowId` as `<name>[-run<N>].json`; fails when a fake's secret is in a history. */
async function save(name: string, workflowIds: string[], secrets: string[], suffix: string): Promise<string[]> {
  const { client } = await getStack();
  const written: string[] = [];
  for (const [i, workflowId] of workflowIds.entries()) {
    const runs: string[] = [];
    for await (const w of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) runs.unshift(w.runId);
    for (const [r, runId] of runs.entries()) {
      const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
      // protobuf's own JSON mapping (enums by name, 64-bit numbers and bytes as strings); read back with fromObject
      const text = JSON.stringify(temporal.api.history.v1.History.toObject(temporal.api.history.v1.History.fromObject(history), HISTORY_JSON), null, 1);
      // the file holds payloads in base64: search them decoded
      const decoded = historyText(history);
      for (const s of secrets) assert.ok(!text.includes(s) && !decoded.includes(s), `a secret is in the history of ${workflowId}`);
      const file = `${name}${workflowIds.length > 1 ? `-wf${i + 1}` : ''}${runs.length > 1 ? `-run${r + 1}` : ''}${suffix}.json`;
      fs.writeFileSync(path.join(HISTORIES_DIR, file), `${text}\n`);
      written.push(file);
    }
  }
  return written;
}

async function main(): Promise<void> {
  const pattern = new RegExp(process.argv[2] ?? '');
  const suffix = process.argv[3] ?? '';
  await getStack({ temporalDynamicConfig: { 'limit.historyCount.suggestContinueAsNew': SUGGEST_CONTINUE_AS_NEW_AFTER_EVENTS } });
  fs.mkdirSync(HISTORIES_DIR, { recursive: true });
  const hub = await Hub.start('record_histories', {}, [jiraProvider]);
  const receiver = await new Receiver().start();
  const jira = await new JiraFake().start();
  try {
    const conn = await hub.call('POST', '/connections', {
      provider: 'jira',
      name: 'Jira',
      config: { flavor: 'cloud', baseUrl: jira.url, email: jira.email, apiToken: jira.apiToken },
    });
    assert.equal(conn.status, 201, JSON.stringify(conn.body));
    const ctx: Ctx = { hub, receiver, jira, jiraConnectionId: conn.body.id };
    for (const [name, scenario] of Object.entries(scenarios)) {
      if (!pattern.test(name)) continue;
      receiver.script.length = 0;
      const ids = await scenario(ctx);
      // a delivery's log can say success before its last attempt's marker is in the history: record closed runs
      // only, and end nothing by deleting the subscriptions before they have closed
      for (const id of ids) await closed(id);
      await hub.dataSource.query('DELETE FROM subscriptions');
      const files = await save(name, ids, [jira.apiToken, BEARER, hub.config.encryption.masterKey], suffix);
      process.stdout.write(`${name}: ${files.join(', ')}\n`);
    }
  } finally {
    await hub.close();
    await receiver.stop();
    await jira.stop();
    await stopStack();
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
