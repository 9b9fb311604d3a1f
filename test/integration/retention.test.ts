import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { retentionScheduleId } from '../../src/temporal/retention-schedule';
import { Receiver } from '../fakes/receiver';
import { Hub, INGEST_TOKEN, waitFor } from '../support/hub';
import { ServiceProcess } from '../support/processes';
import { getStack, PROJECT_ROOT } from '../support/stack';

const DAY = "interval '1 day'";

// Retention through the real pipeline: deliveries made by real workflows, aged in the database, then purged
// by the retention workflow on the hub's worker, by `npm run purge`, and scheduled by the worker process.
describe('retention', function () {
  this.timeout(180_000);
  let hub: Hub;
  let receiver: Receiver;
  let subscriptionId: string;

  const ingest = async (id: string) => {
    const r = await hub.call('POST', '/ingest', { event: 'incident.created', id, payload: { incidentId: id, title: 'Down', severity: 'major' } }, INGEST_TOKEN);
    assert.equal(r.status, 202, JSON.stringify(r.body));
  };
  const deliveryOf = async (emissionId: string) =>
    (await hub.dataSource.query(`SELECT id, status, payload, payload_purged_at FROM deliveries WHERE emission_id = $1`, [emissionId]))[0] as
      | { id: string; status: string; payload: Record<string, unknown>; payload_purged_at: Date | null }
      | undefined;
  const emissionOf = async (id: string) =>
    (await hub.dataSource.query(`SELECT payload, payload_purged_at FROM emissions WHERE id = $1`, [id]))[0] as
      | { payload: Record<string, unknown>; payload_purged_at: Date | null }
      | undefined;
  /** Moves an emission, its deliveries and their attempts `days` into the past. */
  const age = async (emissionId: string, days: number) => {
    await hub.dataSource.query(`UPDATE emissions SET received_at = now() - $2 * ${DAY} WHERE id = $1`, [emissionId, days]);
    await hub.dataSource.query(
      `UPDATE deliveries SET created_at = now() - $2 * ${DAY}, updated_at = now() - $2 * ${DAY} WHERE emission_id = $1`,
      [emissionId, days],
    );
  };

  before(async () => {
    // rows 30 days, payloads 7 days; batches of 2 so every phase takes several batches
    hub = await Hub.start('retention', { RETENTION_DAYS: '30', RETENTION_PAYLOAD_DAYS: '7', RETENTION_BATCH_SIZE: '2', RETENTION_BATCH_PAUSE_MS: '0' });
    receiver = await new Receiver().start();
    // /fail answers 503 with a long schedule, so its delivery stays `retrying`
    receiver.fallback = (req) => (req.url.startsWith('/fail') ? { status: 503 } : { status: 200 });
    const ok = await hub.call('POST', '/subscriptions', { name: 'kept', provider: 'webhook', event: 'incident.created', config: { url: `${receiver.url}/ok` } });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    subscriptionId = ok.body.id;
  });
  after(async () => {
    await hub?.close();
    await receiver?.stop();
  });

  /** Five old (40 days), three payload-old (10 days), two recent deliveries, all success; one old one retrying. */
  async function seed(prefix: string): Promise<void> {
    const ids = [...Array(10).keys()].map((i) => `${prefix}-${i}`);
    for (const id of ids) await ingest(id);
    await waitFor(
      async () => (await Promise.all(ids.map(deliveryOf))).every((d) => d?.status === 'success'),
      'ten deliveries success',
      60_000,
      200,
    );
    for (const id of ids.slice(0, 5)) await age(id, 40);
    for (const id of ids.slice(5, 8)) await age(id, 10);
  }

  it('deletes old finished rows, drops payloads past their age, and keeps recent and in-flight deliveries', async () => {
    const failing = await hub.call('POST', '/subscriptions', {
      name: 'in flight',
      provider: 'webhook',
      event: 'maintenance.created',
      config: { url: `${receiver.url}/fail` },
      retryPolicy: { scheduleMs: [3_600_000] },
    });
    assert.equal(failing.status, 201, JSON.stringify(failing.body));

    const flight = await hub.call('POST', '/ingest', { event: 'maintenance.created', id: 'wf-flight', payload: { maintenanceId: 'm1', title: 'Upgrade', startsAt: '2026-12-01T10:00:00Z', endsAt: '2026-12-01T11:00:00Z' } }, INGEST_TOKEN);
    assert.equal(flight.status, 202, JSON.stringify(flight.body));
    await waitFor(async () => (await deliveryOf('wf-flight'))?.status === 'retrying', 'the in-flight delivery retrying', 60_000, 200);
    await seed('wf');
    await age('wf-flight', 40);
    const oldIds = await Promise.all(['wf-0', 'wf-1', 'wf-2', 'wf-3', 'wf-4'].map(async (e) => (await deliveryOf(e))!.id));
    const attemptsBefore = await hub.dataSource.query(`SELECT count(*)::int AS n FROM delivery_attempts WHERE delivery_id = ANY($1)`, [oldIds]);
    assert.equal(attemptsBefore[0].n, 5, 'the old deliveries had their attempts');

    const { client } = await getStack();
    const totals = await client.workflow.execute('retentionWorkflow', {
      workflowId: `retention-test-${Date.now()}`,
      taskQueue: hub.config.temporal.taskQueue,
      args: [{}],
    });
    assert.deepEqual(totals, { deliveries: 5, deliveryPayloads: 3, emissions: 5, emissionPayloads: 3 });

    for (const e of ['wf-0', 'wf-1', 'wf-2', 'wf-3', 'wf-4']) {
      assert.equal(await deliveryOf(e), undefined, `${e}'s delivery deleted`);
      assert.equal(await emissionOf(e), undefined, `${e} deleted`);
    }
    const attemptsAfter = await hub.dataSource.query(`SELECT count(*)::int AS n FROM delivery_attempts WHERE delivery_id = ANY($1)`, [oldIds]);
    assert.equal(attemptsAfter[0].n, 0, 'their attempts went with them');

    for (const e of ['wf-5', 'wf-6', 'wf-7']) {
      const d = (await deliveryOf(e))!;
      assert.ok(d, `${e}'s delivery kept`);
      assert.deepEqual(d.payload, {});
      assert.ok(d.payload_purged_at instanceof Date, `${e}'s delivery payload marked purged`);
      const em = (await emissionOf(e))!;
      assert.deepEqual(em.payload, {});
      assert.ok(em.payload_purged_at instanceof Date, `${e}'s payload marked purged`);
    }
    for (const e of ['wf-8', 'wf-9']) {
      const d = (await deliveryOf(e))!;
      assert.equal(d.payload.incidentId, e, `${e} recent: payload kept`);
      assert.equal(d.payload_purged_at, null);
      assert.equal((await emissionOf(e))!.payload.incidentId, e);
    }
    const flightRow = (await deliveryOf('wf-flight'))!;
    assert.ok(flightRow, 'the retrying delivery is kept although it is 40 days old');
    assert.equal(flightRow.status, 'retrying');
    assert.equal(flightRow.payload.maintenanceId, 'm1', 'with its payload');
    assert.equal((await emissionOf('wf-flight'))!.payload.maintenanceId, 'm1', 'and its emission');
  });

  it('shows a dropped payload as such in the API and refuses to send it again', async () => {
    const d = (await deliveryOf('wf-5'))!;
    const view = await hub.call('GET', `/deliveries/${d.id}`);
    assert.equal(view.status, 200);
    assert.deepEqual(view.body.payload, {});
    assert.equal(view.body.payloadPurgedAt, d.payload_purged_at!.toISOString());
    assert.equal(view.body.attemptLog.length, 1, 'the attempt log is kept');
    const recent = await hub.call('GET', `/deliveries/${(await deliveryOf('wf-8'))!.id}`);
    assert.equal(recent.body.payloadPurgedAt, null);
    const listed = await hub.call('GET', `/deliveries?subscriptionId=${subscriptionId}&limit=500`);
    assert.ok(listed.body.items.some((x: { id: string; payloadPurgedAt: string | null }) => x.id === d.id && x.payloadPurgedAt !== null));
    const retry = await hub.call('POST', `/deliveries/${d.id}/retry`);
    assert.equal(retry.status, 409, JSON.stringify(retry.body));
    assert.match(retry.body.detail, /payload was dropped by retention/);
  });

  it('bulk recovery leaves out failed deliveries whose payload was dropped', async () => {
    // one failed delivery with its payload dropped (10 days old), one failed with it kept (recent)
    const purged = (await deliveryOf('wf-6'))!.id;
    const kept = (await deliveryOf('wf-9'))!.id;
    await hub.dataSource.query(`UPDATE deliveries SET status = 'failed' WHERE id = ANY($1)`, [[purged, kept]]);
    const since = new Date(Date.now() - 20 * 86_400_000).toISOString();
    const dry = await hub.call('POST', '/deliveries/recover', { status: 'failed', since, subscriptionId, dryRun: true });
    assert.equal(dry.status, 200, JSON.stringify(dry.body));
    assert.equal(dry.body.count, 1, 'only the one with its payload');
    await hub.dataSource.query(`UPDATE deliveries SET status = 'success' WHERE id = ANY($1)`, [[purged, kept]]);
  });

  it('npm run purge does the same from the command line', async () => {
    await seed('cli');
    const { stdout } = await promisify(execFile)(process.execPath, [path.join(PROJECT_ROOT, 'dist/src/main/purge.js')], {
      env: {
        ...process.env,
        DATABASE_URL: hub.config.databaseUrl,
        ENCRYPTION_MASTER_KEY: hub.config.encryption.masterKey,
        RETENTION_DAYS: '30',
        RETENTION_PAYLOAD_DAYS: '7',
        RETENTION_BATCH_SIZE: '2',
        LOG_LEVEL: 'warn',
      },
    });
    assert.match(stdout, /deleted 5 deliveries and 5 emissions; dropped 3 delivery payloads and 3 emission payloads/);
    for (const e of ['cli-0', 'cli-4']) assert.equal(await deliveryOf(e), undefined);
    assert.ok((await deliveryOf('cli-5'))!.payload_purged_at);
    assert.equal((await deliveryOf('cli-9'))!.payload_purged_at, null);
    assert.equal((await deliveryOf('wf-flight'))!.status, 'retrying', 'in flight: still kept');
  });

  it('the worker process creates the daily schedule at start, idempotently', async () => {
    const { client, temporal } = await getStack();
    const taskQueue = `retention-sched-${Date.now()}`;
    const env = () => ({
      ...process.env,
      DATABASE_URL: hub.config.databaseUrl,
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_TASK_QUEUE: taskQueue,
      ENCRYPTION_MASTER_KEY: hub.config.encryption.masterKey,
      RETENTION_SCHEDULE: '5 4 * * *',
      LOG_LEVEL: 'info',
    });
    const handle = client.schedule.getHandle(retentionScheduleId(taskQueue));
    for (const round of [1, 2]) {
      const worker = new ServiceProcess('worker', env);
      worker.start();
      try {
        await waitFor(async () => worker.output.join('').includes('worker running'), `worker start ${round}`, 60_000, 100);
        const d = await handle.describe();
        assert.equal(d.action.type, 'startWorkflow');
        assert.equal(d.action.type === 'startWorkflow' && d.action.workflowType, 'retentionWorkflow');
        assert.equal(d.action.type === 'startWorkflow' && d.action.taskQueue, taskQueue);
        assert.deepEqual(d.spec.calendars?.[0]?.hour, [{ start: 4, end: 4, step: 1 }]);
        assert.deepEqual(d.spec.calendars?.[0]?.minute, [{ start: 5, end: 5, step: 1 }]);
        assert.equal(worker.child?.exitCode, null, 'a second start finds it and keeps running');
      } finally {
        await worker.stop();
      }
    }
    await handle.delete();
  });
});
