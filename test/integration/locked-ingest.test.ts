import assert from 'node:assert/strict';
import { Client as PgClient } from 'pg';
import { subjectKeyOf, subjectLockId } from '../../src/deliveries/lanes';
import { LockedIngest } from '../../src/ingest/locked-ingest';
import { createLogger } from '../../src/logger';
import { Hub, INGEST_TOKEN, waitFor } from '../support/hub';

/**
 * An event with a subject is stored by one statement: the subject's lock and the ingest statement inside one
 * PL/pgSQL function (src/ingest/locked-ingest.ts) instead of BEGIN, lock, statement, COMMIT.
 */
describe('ingest of an event with a subject: lock and statement in one round trip', function () {
  this.timeout(120_000);
  let hub: Hub;
  let subscriptionId: string;

  before(async () => {
    hub = await Hub.start('locked_ingest');
    // a webhook subscription: deliveries of an event with a subject get its key and a lane sequence
    const res = await hub.call('POST', '/subscriptions', {
      name: 'hook', provider: 'webhook', event: 'incident.updated', config: { url: 'http://127.0.0.1:9/never' }, retryPolicy: { scheduleMs: [3_600_000] },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    subscriptionId = res.body.id;
  });
  after(async () => {
    await hub?.close();
  });

  const functions = async (): Promise<string[]> =>
    (await hub.dataSource.query(`SELECT proname FROM pg_proc WHERE proname LIKE 'ihub_ingest_%' ORDER BY 1`)).map((r: { proname: string }) => r.proname);

  it('creates its function once and stores the event through it: lane sequence, subject key, the same answer again', async () => {
    const body = { event: 'incident.updated', id: 'evt-locked-1', payload: { incidentId: 'inc-locked', title: 'Outage', severity: 'major', updateMessage: 'one' } };
    const first = await hub.call('POST', '/ingest', body, INGEST_TOKEN);
    assert.equal(first.status, 202, JSON.stringify(first.body));
    assert.deepEqual(await functions(), [hub.api.ingest.locked.name]);
    const [row] = await hub.dataSource.query(`SELECT subject_key, lane_seq FROM deliveries WHERE id = $1`, [first.body.deliveries[0].id]);
    assert.equal(row.subject_key, subjectKeyOf('incident.updated', 'inc-locked'));
    assert.ok(row.lane_seq !== null);
    const again = await hub.call('POST', '/ingest', body, INGEST_TOKEN);
    assert.equal(again.status, 200);
    assert.deepEqual(again.body, first.body);
    assert.deepEqual(await functions(), [hub.api.ingest.locked.name], 'not created again');
  });

  it('reads the lane after the lock is granted: a delivery committed while it waited is the one it waits for', async () => {
    const subject = 'inc-waits';
    const key = subjectKeyOf('incident.updated', subject);
    const ahead = new PgClient({ connectionString: hub.config.databaseUrl });
    await ahead.connect();
    try {
      // another ingest of the subject holds the lock and has not committed its delivery yet
      await ahead.query('BEGIN');
      await ahead.query('SELECT pg_advisory_xact_lock($1::bigint)', [subjectLockId(key)]);
      await ahead.query(`INSERT INTO emissions (id, event, occurred_at, system_ids, payload) VALUES ('evt-ahead', 'incident.updated', now(), '{}', '{}')`);
      await ahead.query(
        `INSERT INTO deliveries (id, subscription_id, provider, event, emission_id, system_ids, status, attempts, workflow_id, workflow_started, test, created_at, updated_at, subject_key, lane_seq)
         VALUES ('dlv_ahead', $1, 'webhook', 'incident.updated', 'evt-ahead', '{}', 'pending', 0, 'wf-ahead', true, false, now(), now(), $2, nextval('delivery_lane_seq'))`,
        [subscriptionId, key],
      );
      // the statement alone (no workflow start, so no attempt corrects waiting_for afterwards)
      const run = hub.api.ingest.locked.run<{ id: string }>(
        ['evt-behind', 'incident.updated', new Date().toISOString(), [], { incidentId: subject }, key, ['webhook']],
        subjectLockId(key),
      );
      await waitFor(async () => {
        const r = await hub.dataSource.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND wait_event = 'advisory' AND query LIKE '%ihub_ingest_%'`);
        return r[0].n === 1;
      }, 'the locked statement to wait for the lock');
      await ahead.query('COMMIT');
      const rows = await run;
      assert.ok(rows && rows.length === 1, JSON.stringify(rows));
      const [behind] = await hub.dataSource.query(`SELECT waiting_for, lane_seq > (SELECT lane_seq FROM deliveries WHERE id = 'dlv_ahead') AS later FROM deliveries WHERE id = $1`, [rows[0].id]);
      // a snapshot taken before the lock was granted would not see dlv_ahead: waiting_for null
      assert.equal(behind.waiting_for, 'dlv_ahead');
      assert.equal(behind.later, true);
    } finally {
      await ahead.end();
    }
  });

  it('is created once when several processes meet a new statement at the same moment (no duplicate-function error)', async () => {
    // a stand-in statement of the same shape, new to this database: a new function name
    const statement = `SELECT true, $1::text, $2::text, $6::text, $4::text[]::text /* ${Date.now()} */`;
    const processes = Array.from({ length: 6 }, () => new LockedIngest(hub.dataSource, statement, createLogger('silent', 'test')));
    const results = await Promise.all(processes.map((p, i) => p.run<{ created: boolean; id: string }>([`e${i}`, 'x', null, ['a'], {}, 's', []], '1')));
    for (const [i, r] of results.entries()) assert.deepEqual(r, [{ created: true, id: `e${i}`, subscription_id: 'x', provider: 's', workflow_id: '{a}' }]);
    const [{ n }] = await hub.dataSource.query(`SELECT count(*)::int AS n FROM pg_proc WHERE proname = $1`, [processes[0].name]);
    assert.equal(n, 1);
    await hub.dataSource.query(`DROP FUNCTION ${processes[0].name}`);
  });

  it('makes its function again when it is gone (a restore without it), the event taking the transaction meanwhile', async () => {
    await hub.dataSource.query(`DROP FUNCTION ${hub.api.ingest.locked.name}`);
    const res = await hub.call('POST', '/ingest', { event: 'incident.updated', id: 'evt-locked-gone', payload: { incidentId: 'inc-gone', title: 'Outage', severity: 'major', updateMessage: 'x' } }, INGEST_TOKEN);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal(res.body.deliveries.length, 1);
    const next = await hub.call('POST', '/ingest', { event: 'incident.updated', id: 'evt-locked-back', payload: { incidentId: 'inc-gone', title: 'Outage', severity: 'major', updateMessage: 'y' } }, INGEST_TOKEN);
    assert.equal(next.status, 202);
    assert.deepEqual(await functions(), [hub.api.ingest.locked.name]);
    const seqs = await hub.dataSource.query(`SELECT lane_seq FROM deliveries WHERE emission_id IN ('evt-locked-gone', 'evt-locked-back') ORDER BY created_at, lane_seq`);
    assert.equal(seqs.length, 2);
    assert.ok(Number(seqs[0].lane_seq) < Number(seqs[1].lane_seq));
  });
});
