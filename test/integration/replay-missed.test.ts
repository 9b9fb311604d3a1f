import assert from 'node:assert/strict';
import { Receiver } from '../fakes/receiver';
import { Hub, INGEST_TOKEN, waitFor } from '../support/hub';

// POST /subscriptions/{id}/replay hands a subscription the emissions it missed (disabled, paused or not yet
// created) through the real pipeline, once each; GET /undelivered lists what is still missing.
describe('replay of missed events (real pipeline)', function () {
  this.timeout(180_000);
  let hub: Hub;
  let receiver: Receiver;
  let since: string;
  const subs = { all: '', sys1: '', late: '' };
  const incidents = ['rpl-one-sys1', 'rpl-two-sys2', 'rpl-three-sys1'];

  async function createSub(name: string, path: string, systemIds: string[], enabled: boolean): Promise<string> {
    const res = await hub.call('POST', '/subscriptions', {
      name, provider: 'webhook', event: 'incident.created', config: { url: `${receiver.url}${path}` }, systemIds, enabled,
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body.id;
  }

  /** How many requests at `path` carried each incident. */
  function sentPer(path: string): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const r of receiver.at(path)) {
      for (const inc of incidents) if (r.body.includes(inc)) counts[inc] = (counts[inc] ?? 0) + 1;
    }
    return counts;
  }

  async function statusesOf(sub: string): Promise<string[]> {
    const rows: { status: string }[] = await hub.dataSource.query('SELECT status FROM deliveries WHERE subscription_id = $1', [sub]);
    return rows.map((r) => r.status);
  }

  async function replayToEnd(sub: string, body: Record<string, unknown>) {
    const started = await hub.call('POST', `/subscriptions/${sub}/replay`, body);
    assert.equal(started.status, 202, JSON.stringify(started.body));
    assert.match(started.body.id, /^rpl_/);
    assert.equal(started.headers.get('location'), `/api/v1/subscriptions/${sub}/replay/${started.body.id}`);
    return waitFor(async () => {
      const r = await hub.call('GET', `/subscriptions/${sub}/replay/${started.body.id}`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.ok(r.body.delivered + r.body.existing <= r.body.total, JSON.stringify(r.body));
      return r.body.status === 'running' ? undefined : r.body;
    }, 'the replay to finish', 60_000, 100);
  }

  async function allUndelivered(query: string): Promise<{ emissionId: string; subscriptionId: string; reason: string }[]> {
    const items = [];
    let cursor: string | null = null;
    do {
      const res: any = await hub.call('GET', `/undelivered?since=${encodeURIComponent(since)}&limit=2${query}${cursor ? `&cursor=${cursor}` : ''}`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.ok(res.body.items.length <= 2);
      items.push(...res.body.items);
      cursor = res.body.nextCursor;
    } while (cursor);
    return items;
  }

  before(async () => {
    hub = await Hub.start('replay-missed');
    receiver = await new Receiver().start();
    since = new Date(Date.now() - 1000).toISOString();
    subs.all = await createSub('replay all', '/all', [], false);
    subs.sys1 = await createSub('replay sys-1', '/sys1', ['sys-1'], false);
    const systems = ['sys-1', 'sys-2', 'sys-1'];
    for (const [i, inc] of incidents.entries()) {
      const res = await hub.call('POST', '/ingest', {
        event: 'incident.created', id: `evt-${inc}`, payload: { incidentId: inc, title: 'Down', severity: 'major', systemIds: [systems[i]] },
      }, INGEST_TOKEN);
      assert.equal(res.status, 202, JSON.stringify(res.body));
      assert.deepEqual(res.body.deliveries, [], 'disabled subscriptions get nothing at ingest');
    }
  });
  after(async () => {
    await hub?.close();
    await receiver?.stop();
  });

  it('lists the emissions the disabled subscriptions skipped, paged', async () => {
    const items = await allUndelivered('');
    const pairs = items.map((i) => `${i.emissionId}>${i.subscriptionId === subs.all ? 'all' : 'sys1'}:${i.reason}`).sort();
    assert.deepEqual(pairs, [
      'evt-rpl-one-sys1>all:skipped', 'evt-rpl-one-sys1>sys1:skipped', 'evt-rpl-three-sys1>all:skipped',
      'evt-rpl-three-sys1>sys1:skipped', 'evt-rpl-two-sys2>all:skipped',
    ]);
    const one = await allUndelivered(`&subscriptionId=${subs.sys1}`);
    assert.equal(one.length, 2);
  });

  it('refuses a replay while the subscription is disabled or paused (409), and bad ranges (400)', async () => {
    const disabled = await hub.call('POST', `/subscriptions/${subs.all}/replay`, { since });
    assert.equal(disabled.status, 409);
    assert.match(disabled.headers.get('content-type') ?? '', /application\/problem\+json/);
    assert.match(disabled.body.detail, /disabled/);

    const bad = await hub.call('POST', `/subscriptions/${subs.all}/replay`, { since, until: since });
    assert.equal(bad.status, 400);
    assert.ok(bad.body.errors.some((e: { path: string }) => e.path.endsWith('until')), JSON.stringify(bad.body));
    const missing = await hub.call('POST', '/subscriptions/sub_nope/replay', { since });
    assert.equal(missing.status, 404);

    // paused (as target health pauses a subscription) is refused too
    await hub.dataSource.query(`UPDATE subscriptions SET enabled = true, paused_reason = 'target failing for 5 days' WHERE id = $1`, [subs.all]);
    try {
      const paused = await hub.call('POST', `/subscriptions/${subs.all}/replay`, { since });
      assert.equal(paused.status, 409);
      assert.match(paused.body.detail, /paused/);
    } finally {
      await hub.dataSource.query(`UPDATE subscriptions SET enabled = false, paused_reason = NULL WHERE id = $1`, [subs.all]);
    }
    assert.equal(receiver.at('/all').length, 0);
  });

  it('delivers each missed event once after enabling, and nothing on a second replay', async () => {
    for (const id of [subs.all, subs.sys1]) {
      const res = await hub.call('PATCH', `/subscriptions/${id}`, { enabled: true });
      assert.equal(res.status, 200, JSON.stringify(res.body));
    }
    const first = await replayToEnd(subs.all, { since });
    assert.deepEqual([first.status, first.total, first.delivered, first.existing, first.error], ['done', 3, 3, 0, null]);
    await waitFor(async () => {
      const st = await statusesOf(subs.all);
      return st.length === 3 && st.every((s) => s === 'success');
    }, 'the replayed deliveries to succeed', 60_000, 100);
    assert.deepEqual(sentPer('/all'), { 'rpl-one-sys1': 1, 'rpl-two-sys2': 1, 'rpl-three-sys1': 1 });

    const again = await replayToEnd(subs.all, { since });
    assert.deepEqual([again.status, again.total, again.delivered, again.existing], ['done', 3, 0, 3]);
    assert.equal((await statusesOf(subs.all)).length, 3, 'no second delivery row');
    assert.deepEqual(sentPer('/all'), { 'rpl-one-sys1': 1, 'rpl-two-sys2': 1, 'rpl-three-sys1': 1 });
  });

  it("honours the subscription's system filter", async () => {
    const r = await replayToEnd(subs.sys1, { since, until: new Date(Date.now() + 1000).toISOString() });
    assert.deepEqual([r.status, r.total, r.delivered, r.existing], ['done', 2, 2, 0]);
    await waitFor(async () => {
      const st = await statusesOf(subs.sys1);
      return st.length === 2 && st.every((s) => s === 'success');
    }, 'the sys-1 deliveries to succeed', 60_000, 100);
    assert.deepEqual(sentPer('/sys1'), { 'rpl-one-sys1': 1, 'rpl-three-sys1': 1 });
  });

  it('gives a subscription created after the events what it missed', async () => {
    subs.late = await createSub('replay late', '/late', [], true);
    assert.equal((await allUndelivered(`&subscriptionId=${subs.late}`)).length, 3);
    const r = await replayToEnd(subs.late, { since });
    assert.deepEqual([r.status, r.total, r.delivered], ['done', 3, 3]);
    await waitFor(async () => {
      const st = await statusesOf(subs.late);
      return st.length === 3 && st.every((s) => s === 'success');
    }, 'the late subscription to get its deliveries', 60_000, 100);
    assert.deepEqual(sentPer('/late'), { 'rpl-one-sys1': 1, 'rpl-two-sys2': 1, 'rpl-three-sys1': 1 });
    assert.deepEqual(await allUndelivered(''), [], 'nothing is missing any more');
  });

  it('lists a failed delivery as undelivered with its delivery id', async () => {
    receiver.fallback = () => ({ status: 400 });
    const res = await hub.call('POST', '/ingest', {
      event: 'incident.created', id: 'evt-rpl-failing', payload: { incidentId: 'rpl-failing', title: 'Down', severity: 'major', systemIds: ['sys-9'] },
    }, INGEST_TOKEN);
    assert.equal(res.status, 202);
    const failed = await waitFor(async () => {
      const items = await allUndelivered(`&subscriptionId=${subs.all}&event=incident.created`);
      return items.length === 1 ? items[0] : undefined;
    }, 'the failed delivery to be listed', 60_000, 200);
    assert.equal(failed.reason, 'failed');
    assert.equal(failed.emissionId, 'evt-rpl-failing');
    assert.match((failed as unknown as { deliveryId: string }).deliveryId, /^dlv_/);
  });
});
