import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { RetentionPurger, purgePlan } from '../../src/deliveries/retention';
import { Receiver } from '../fakes/receiver';
import { ADMIN_TOKEN, Hub, INGEST_TOKEN, waitFor } from '../support/hub';
import { SseClient } from '../support/sse';

const DAY_MS = 86_400_000;
const FAN_OUT = 10;

/**
 * The previous release's attempt read path, verbatim (DeliveryLog.load before the payload was stored once): a
 * worker of that release still runs it during a rolling upgrade, and sends `payload` as the event's payload.
 */
const PREVIOUS_RELEASE_LOAD_SQL = `SELECT d.id, d.subscription_id, d.provider, d.event, d.emission_id, d.system_ids, d.payload, d.status, d.attempts,
              d.test, d.created_at, d.subject_key, d.lane_seq, e.occurred_at,
              s.id AS s_id, s.name AS s_name, s.config AS s_config, s.connection_id AS s_connection_id, s.retry_policy AS s_retry_policy,
              s.coalesce_follow_ups AS s_coalesce,
              c.config AS c_config, ps.enabled AS provider_enabled
         FROM deliveries d
         LEFT JOIN emissions e ON e.id = d.emission_id
         LEFT JOIN subscriptions s ON s.id = d.subscription_id
         LEFT JOIN connections c ON c.id = s.connection_id
         LEFT JOIN provider_settings ps ON ps.id = d.provider
        WHERE d.id = $1`;

/** A 64 KB incident: random text, so TOAST compression cannot make copies look free. */
function bigIncident(id: string): Record<string, unknown> {
  return { incidentId: id, title: `Outage ${id}`, severity: 'major', description: crypto.randomBytes(48 * 1024).toString('base64') };
}

/** The payload a webhook request carried (the Standard Webhooks envelope's `data`). */
const sent = (body: string) => (JSON.parse(body) as { data: Record<string, unknown> }).data;

// The payload lives on the emission (docs/DESIGN.md decision 16): a hub with DELIVERY_PAYLOAD_COPY=false writes no
// copy on the delivery rows, and every reader (the attempt, the API's views, the live stream, retry, recovery,
// replay, retention) takes it from the emission. A hub with the default (copy on) serves a rolling upgrade.
describe('the payload stored once', function () {
  this.timeout(240_000);
  let hub: Hub;
  let receiver: Receiver;
  const subs: string[] = [];
  const streams: SseClient[] = [];
  const payload = bigIncident('inc-once');
  let deliveryIds: string[] = [];

  const ingest = async (h: Hub, id: string, body: Record<string, unknown>) => {
    const r = await h.call('POST', '/ingest', { event: 'incident.created', id, payload: body }, INGEST_TOKEN);
    assert.equal(r.status, 202, JSON.stringify(r.body));
    return (r.body.deliveries as { id: string }[]).map((d) => d.id);
  };
  const allSuccess = (h: Hub, ids: string[], what: string) =>
    waitFor(async () => {
      const rows: { n: number }[] = await h.dataSource.query(`SELECT count(*)::int AS n FROM deliveries WHERE id = ANY($1) AND status = 'success'`, [ids]);
      return rows[0].n === ids.length;
    }, what, 90_000, 100);
  const subscribe = async (h: Hub, path: string) => {
    const r = await h.call('POST', '/subscriptions', { name: `to ${path}`, provider: 'webhook', event: 'incident.created', config: { url: `${receiver.url}${path}` } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.id as string;
  };
  /** What the delivery rows of these ids hold in their own payload column: copies and stored bytes. */
  const copiesOf = async (h: Hub, ids: string[]) =>
    (await h.dataSource.query(
      `SELECT count(*) FILTER (WHERE payload IS NOT NULL)::int AS copies, coalesce(sum(pg_column_size(payload)), 0)::int AS bytes FROM deliveries WHERE id = ANY($1)`,
      [ids],
    ))[0] as { copies: number; bytes: number };

  before(async () => {
    hub = await Hub.start('payload-once', { DELIVERY_PAYLOAD_COPY: 'false', ATTEMPT_BODY_MAX_BYTES: String(128 * 1024) });
    receiver = await new Receiver().start();
    for (let i = 0; i < FAN_OUT; i++) subs.push(await subscribe(hub, `/fan/${i}`));
  });
  after(async () => {
    streams.forEach((s) => s.close());
    await hub?.close();
    await receiver?.stop();
  });

  it('an event fanned out to 10 subscriptions stores its 64 KB payload once, and each delivery sends all of it', async () => {
    deliveryIds = await ingest(hub, 'evt-once', payload);
    assert.equal(deliveryIds.length, FAN_OUT);
    await allSuccess(hub, deliveryIds, 'the 10 deliveries success');
    for (let i = 0; i < FAN_OUT; i++) {
      const got = receiver.at(`/fan/${i}`);
      assert.equal(got.length, 1, `/fan/${i} got one request`);
      assert.deepEqual(sent(got[0].body), payload, `/fan/${i} got the whole payload`);
    }
    // one copy: the emission's; the delivery rows hold none
    assert.deepEqual(await copiesOf(hub, deliveryIds), { copies: 0, bytes: 0 });
    const [em] = await hub.dataSource.query(`SELECT pg_column_size(payload)::int AS bytes, payload FROM emissions WHERE id = 'evt-once'`);
    assert.deepEqual(em.payload, payload);
    assert.ok(em.bytes > 48 * 1024, `the emission holds it (${em.bytes} bytes stored)`);
  });

  it('every view shows it: the delivery, the list, the live stream, the attempt sent; a retry sends it again', async () => {
    for (const id of deliveryIds) {
      const v = await hub.call('GET', `/deliveries/${id}`);
      assert.equal(v.status, 200);
      assert.deepEqual(v.body.payload, payload, `GET /deliveries/${id}`);
      assert.equal(v.body.payloadPurgedAt, null);
    }
    const listed = await hub.call('GET', `/deliveries?search=evt-once&limit=50`);
    assert.equal(listed.status, 200, JSON.stringify(listed.body));
    assert.deepEqual(listed.body.items.map((x: { id: string }) => x.id).sort(), [...deliveryIds].sort());
    for (const x of listed.body.items) assert.deepEqual(x.payload, payload, `listed ${x.id}`);

    const attempt = await hub.call('GET', `/deliveries/${deliveryIds[0]}/attempts/1`);
    assert.equal(attempt.status, 200);
    assert.deepEqual(sent(attempt.body.exchanges[0].request.body), payload, 'the kept request holds the payload as sent');

    const s = await SseClient.open(`${hub.baseUrl}/api/v1/deliveries/stream?subscriptionId=${subs[0]}`, { authorization: `Bearer ${ADMIN_TOKEN}` });
    streams.push(s);
    await s.next((e) => e.event === 'ready', 'ready');
    const [{ id: mine }] = await hub.dataSource.query(`SELECT id FROM deliveries WHERE emission_id = 'evt-once' AND subscription_id = $1`, [subs[0]]);
    const before = receiver.at('/fan/0').length;
    const retry = await hub.call('POST', `/deliveries/${mine}/retry`);
    assert.equal(retry.status, 202, JSON.stringify(retry.body));
    await waitFor(async () => receiver.at('/fan/0').length > before, 'the redelivery', 30_000, 50);
    assert.deepEqual(sent(receiver.at('/fan/0')[before].body), payload, 'sent again, whole');
    const live = await s.next((e) => e.event === 'delivery' && e.data.id === mine, 'the redelivery on the live stream');
    assert.deepEqual(live.data.payload, payload, 'the live stream shows it');
    await allSuccess(hub, [mine], 'the redelivery logged');
  });

  it('the live stream shows the payload of a new delivery', async () => {
    const s = await SseClient.open(`${hub.baseUrl}/api/v1/deliveries/stream?subscriptionId=${subs[3]}`, { authorization: `Bearer ${ADMIN_TOKEN}` });
    streams.push(s);
    await s.next((e) => e.event === 'ready', 'ready');
    const small = { incidentId: 'inc-live', title: 'Live', severity: 'minor' };
    const ids = await ingest(hub, 'evt-live', small);
    const got = await s.next((e) => e.event === 'delivery' && ids.includes(e.data.id), 'a delivery of the new event');
    assert.deepEqual(got.data.payload, small);
    await allSuccess(hub, ids, 'the live event delivered');
    assert.deepEqual(await copiesOf(hub, ids), { copies: 0, bytes: 0 });
  });

  it('test sends and replays make rows without a copy that send the payload', async () => {
    const before = receiver.at('/fan/1').length;
    const test = await hub.call('POST', `/subscriptions/${subs[1]}/test`);
    assert.ok(test.status === 202 || test.status === 200, JSON.stringify(test.body));
    await waitFor(async () => receiver.at('/fan/1').length > before, 'the test send', 30_000, 50);
    const [example] = await hub.dataSource.query(`SELECT example FROM event_types WHERE id = 'incident.created'`);
    assert.deepEqual(sent(receiver.at('/fan/1')[before].body), example.example, 'the test send carries the example');
    const testRows: { id: string }[] = await hub.dataSource.query(`SELECT id FROM deliveries WHERE test AND subscription_id = $1`, [subs[1]]);
    assert.equal(testRows.length, 1);
    assert.deepEqual(await copiesOf(hub, testRows.map((r) => r.id)), { copies: 0, bytes: 0 });

    // a subscription made after the event gets it by a replay: a new delivery of the stored emission
    const late = await subscribe(hub, '/late');
    const replay = await hub.call('POST', `/subscriptions/${late}/replay`, { since: new Date(Date.now() - 3_600_000).toISOString() });
    assert.equal(replay.status, 202, JSON.stringify(replay.body));
    await waitFor(async () => receiver.at('/late').some((r) => sent(r.body).incidentId === 'inc-once'), 'the replayed delivery', 60_000, 100);
    assert.deepEqual(sent(receiver.at('/late').find((r) => sent(r.body).incidentId === 'inc-once')!.body), payload);
    const [replayed] = await hub.dataSource.query(`SELECT id FROM deliveries WHERE subscription_id = $1 AND emission_id = 'evt-once'`, [late]);
    assert.deepEqual(await copiesOf(hub, [replayed.id]), { copies: 0, bytes: 0 });
    deliveryIds.push(replayed.id);
    await allSuccess(hub, deliveryIds, 'the replayed delivery success');
  });

  it('retention drops the one copy once every delivery of the event is past the cut-off; the views say so', async () => {
    const purger = new RetentionPurger(hub.dataSource, { batchSize: 100, batchPauseMs: 0 });
    const plan = () => purgePlan({ rowsMaxAgeMs: 0, payloadsMaxAgeMs: 7 * DAY_MS }, Date.now());
    const replayed = deliveryIds[deliveryIds.length - 1];
    const fanned = deliveryIds.slice(0, FAN_OUT);
    // the event and its 10 deliveries 10 days old; the replayed delivery (made today) is recent; two failed
    await hub.dataSource.query(`UPDATE emissions SET received_at = now() - interval '10 days' WHERE id = 'evt-once'`);
    await hub.dataSource.query(
      `UPDATE deliveries SET created_at = now() - interval '10 days', updated_at = now() - interval '10 days',
              status = CASE WHEN id = ANY($2) THEN 'failed' ELSE status END WHERE id = ANY($1)`,
      [fanned, fanned.slice(0, 2)],
    );
    await hub.dataSource.query(`UPDATE deliveries SET status = 'failed' WHERE id = $1`, [replayed]);
    const recoverable = async () => {
      const r = await hub.call('POST', '/deliveries/recover', { status: 'failed', since: new Date(Date.now() - 20 * DAY_MS).toISOString(), event: 'incident.created', dryRun: true });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body.count as number;
    };
    assert.equal(await recoverable(), 3, 'before the purge: the two old failed ones and the replayed one');

    const first = await purger.all(plan());
    assert.equal(first.deliveryPayloads, FAN_OUT, 'the 10 old deliveries lose their payload');
    assert.equal(first.emissionPayloads, 0, 'the emission keeps it: the replayed delivery is recent');
    for (const id of fanned) {
      const v = await hub.call('GET', `/deliveries/${id}`);
      assert.deepEqual(v.body.payload, {}, `${id} shows it dropped`);
      assert.ok(v.body.payloadPurgedAt, `${id} says when`);
    }
    const exchanges = await hub.call('GET', `/deliveries/${fanned[0]}/attempts/1`);
    assert.deepEqual(exchanges.body.exchanges, [], 'the exchanges went with it');
    assert.ok(exchanges.body.purgedAt);
    const kept = await hub.call('GET', `/deliveries/${replayed}`);
    assert.deepEqual(kept.body.payload, payload, 'the recent delivery of the same event still shows it');
    assert.equal(kept.body.payloadPurgedAt, null);
    assert.equal(await recoverable(), 1, 'recovery leaves out the ones whose payload was dropped');
    const refused = await hub.call('POST', `/deliveries/${fanned[0]}/retry`);
    assert.equal(refused.status, 409, JSON.stringify(refused.body));
    assert.match(refused.body.detail, /payload was dropped by retention/);

    // the replayed delivery past the cut-off too: now the one copy goes
    await hub.dataSource.query(`UPDATE deliveries SET created_at = now() - interval '8 days', updated_at = now() - interval '8 days' WHERE id = $1`, [replayed]);
    const second = await purger.all(plan());
    assert.equal(second.deliveryPayloads, 1);
    assert.equal(second.emissionPayloads, 1);
    const [em] = await hub.dataSource.query(`SELECT payload, payload_purged_at FROM emissions WHERE id = 'evt-once'`);
    assert.deepEqual(em.payload, {});
    assert.ok(em.payload_purged_at instanceof Date);
    const gone = await hub.call('GET', `/deliveries/${replayed}`);
    assert.deepEqual(gone.body.payload, {});
    assert.ok(gone.body.payloadPurgedAt);
    assert.equal(await recoverable(), 0);
    await hub.dataSource.query(`UPDATE deliveries SET status = 'success' WHERE id = ANY($1)`, [[...fanned.slice(0, 2), replayed]]);
  });

  it('an emission whose payload went while a delivery without a copy kept no mark reads as dropped, with the emission\'s time', async () => {
    // (retention marks the deliveries first; a row it skipped while a worker held it is such a row)
    const ids = await ingest(hub, 'evt-skipped', { incidentId: 'inc-skipped', title: 'Skipped', severity: 'minor' });
    await allSuccess(hub, ids, 'delivered');
    await hub.dataSource.query(`UPDATE emissions SET payload = '{}', payload_purged_at = now() - interval '1 hour' WHERE id = 'evt-skipped'`);
    const [em] = await hub.dataSource.query(`SELECT payload_purged_at FROM emissions WHERE id = 'evt-skipped'`);
    const v = await hub.call('GET', `/deliveries/${ids[0]}`);
    assert.deepEqual(v.body.payload, {});
    assert.equal(v.body.payloadPurgedAt, em.payload_purged_at.toISOString());
    assert.equal((await hub.call('POST', `/deliveries/${ids[0]}/retry`)).status, 409);
  });

  it('rows of the previous release read right: a copy outlives its emission\'s payload and is sent; a purged copy stays purged', async () => {
    // written as the previous release wrote them (every row with a copy); an earlier purge then dropped the
    // emission's payload while one delivery, touched after the cut-off, kept its copy, and dropped the other's
    const legacy = bigIncident('inc-legacy');
    await hub.dataSource.query(`INSERT INTO emissions (id, event, occurred_at, system_ids, payload) VALUES ('evt-legacy', 'incident.created', now(), '{}', $1)`, [legacy]);
    const insert = (id: string, sub: string, status: string) =>
      hub.dataSource.query(
        `INSERT INTO deliveries (id, subscription_id, provider, event, emission_id, system_ids, payload, status, attempts, workflow_id, workflow_started)
         VALUES ($1, $2, 'webhook', 'incident.created', 'evt-legacy', '{}', $3, $4, 1, 'delivery:evt-legacy:' || $2::varchar, true)`,
        [id, sub, legacy, status],
      );
    await insert('dlv_legacy_kept', subs[5], 'failed');
    await insert('dlv_legacy_gone', subs[6], 'success');
    await hub.dataSource.query(`UPDATE deliveries SET payload = '{}', payload_purged_at = now() WHERE id = 'dlv_legacy_gone'`);
    await hub.dataSource.query(`UPDATE emissions SET payload = '{}', payload_purged_at = now() WHERE id = 'evt-legacy'`);

    const kept = await hub.call('GET', '/deliveries/dlv_legacy_kept');
    assert.deepEqual(kept.body.payload, legacy, 'its own copy');
    assert.equal(kept.body.payloadPurgedAt, null);
    const gone = await hub.call('GET', '/deliveries/dlv_legacy_gone');
    assert.deepEqual(gone.body.payload, {});
    assert.ok(gone.body.payloadPurgedAt);

    const before = receiver.at('/fan/5').length;
    const retry = await hub.call('POST', '/deliveries/dlv_legacy_kept/retry');
    assert.equal(retry.status, 202, JSON.stringify(retry.body));
    await waitFor(async () => receiver.at('/fan/5').slice(before).some((r) => sent(r.body).incidentId === 'inc-legacy'), 'the legacy redelivery', 30_000, 50);
    assert.deepEqual(sent(receiver.at('/fan/5').slice(before).find((r) => sent(r.body).incidentId === 'inc-legacy')!.body), legacy, 'this release sends the copy');
  });

  describe('a rolling upgrade: workers of the previous release beside this release', () => {
    let compat: Hub;
    before(async () => {
      // DELIVERY_PAYLOAD_COPY unset: this release's default, on
      compat = await Hub.start('payload-copy');
    });
    after(async () => {
      await compat?.close();
    });

    it('rows written with the copy on (the default) give the previous release\'s read path the right payload', async () => {
      const a = await subscribe(compat, '/compat/a');
      const b = await subscribe(compat, '/compat/b');
      const body = bigIncident('inc-compat');
      const ids = await ingest(compat, 'evt-compat', body);
      assert.equal(ids.length, 2);
      for (const id of ids) {
        const [row] = await compat.dataSource.query(PREVIOUS_RELEASE_LOAD_SQL, [id]);
        assert.deepEqual(row.payload, body, `the previous release's attempt reads the whole payload of ${id}`);
      }
      const testSend = await compat.call('POST', `/subscriptions/${a}/test`);
      assert.ok(testSend.status === 202 || testSend.status === 200, JSON.stringify(testSend.body));
      const [t] = await compat.dataSource.query(`SELECT id FROM deliveries WHERE test AND subscription_id = $1`, [a]);
      const [example] = await compat.dataSource.query(`SELECT example FROM event_types WHERE id = 'incident.created'`);
      assert.deepEqual((await compat.dataSource.query(PREVIOUS_RELEASE_LOAD_SQL, [t.id]))[0].payload, example.example, 'and of a test send');
      // this release reads the same rows from the emission and delivers them
      await allSuccess(compat, ids, 'delivered by this release');
      assert.deepEqual(sent(receiver.at('/compat/b').find((r) => sent(r.body).incidentId === 'inc-compat')!.body), body);
      assert.equal((await compat.call('GET', `/deliveries/${ids[0]}`)).body.payload.description, body.description);
      assert.ok(receiver.at('/compat/a').some((r) => sent(r.body).incidentId === 'inc-compat'), `${b} and /compat/a both got it`);
    });

    it('with the copy off, the previous release\'s read path would find no payload: the switch stays on until those workers are gone', async () => {
      const [row] = await hub.dataSource.query(PREVIOUS_RELEASE_LOAD_SQL, [deliveryIds[2]]);
      assert.equal(row.payload, null, 'a row written with DELIVERY_PAYLOAD_COPY=false has no copy for an old worker to read');
    });
  });
});
