import assert from 'node:assert/strict';
import { Client as PgClient } from 'pg';
import { matchesFilter, type DeliveryFilter, type FilterableDelivery } from '../../src/deliveries/filter';
import { LiveDeliveries } from '../../src/deliveries/live';
import type { DeliveryService } from '../../src/deliveries/service';
import { createLogger } from '../../src/logger';
import { Receiver } from '../fakes/receiver';
import { ADMIN_TOKEN, Hub, INGEST_TOKEN, waitFor } from '../support/hub';
import { signIn } from '../support/session';
import { SseClient } from '../support/sse';
import { TcpProxy } from '../support/tcp-proxy';

describe('delivery log for the UI: live updates over SSE from LISTEN/NOTIFY, several statuses, search, recover count', function () {
  this.timeout(120_000);
  let hub: Hub;
  let receiver: Receiver;
  const streams: SseClient[] = [];

  before(async () => {
    receiver = await new Receiver().start();
    hub = await Hub.start('live_updates');
  });
  after(async () => {
    streams.forEach((s) => s.close());
    await hub?.close();
    await receiver?.stop();
  });

  const stream = async (query: string, headers: Record<string, string> = { authorization: `Bearer ${ADMIN_TOKEN}` }) => {
    const s = await SseClient.open(`${hub.baseUrl}/api/v1/deliveries/stream${query}`, headers);
    streams.push(s);
    return s;
  };

  async function subscribe(path: string) {
    const res = await hub.call('POST', '/subscriptions', {
      name: `to ${path}`, provider: 'webhook', event: 'incident.created',
      config: { url: `${receiver.url}${path}` }, retryPolicy: { scheduleMs: [4000] },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body.id as string;
  }

  const ingest = (id: string) =>
    hub.call('POST', '/ingest', { event: 'incident.created', id, payload: { incidentId: id, title: id, severity: 'major', systemIds: ['sys-live'] } }, INGEST_TOKEN);

  it('streams a new delivery and each status change (retrying, then success) to a filtered stream', async () => {
    const sub = await subscribe('/live');
    const other = await subscribe('/other');
    // the first request to /live answers 503 (the other subscription's request may come first)
    let liveCalls = 0;
    receiver.fallback = (r) => (r.url.startsWith('/live') && liveCalls++ === 0 ? { status: 503 } : { status: 200, body: '{"ok":true}' });
    const s = await stream(`?subscriptionId=${sub}`);
    assert.equal(s.status, 200);
    assert.match(s.headers!.get('content-type') ?? '', /^text\/event-stream/);
    await s.next((e) => e.event === 'ready', 'ready');
    const res = await ingest('evt-live-1');
    assert.equal(res.status, 202);
    const mine = res.body.deliveries.find((d: { subscriptionId: string }) => d.subscriptionId === sub).id;
    const retrying = await s.next((e) => e.event === 'delivery' && e.data.id === mine && e.data.status === 'retrying', 'retrying');
    assert.ok(retrying.data.nextRetryAt, 'nextRetryAt comes along');
    await s.next((e) => e.event === 'delivery' && e.data.id === mine && e.data.status === 'success', 'success');
    assert.ok(s.events.every((e) => e.event !== 'delivery' || e.data.subscriptionId === sub), `only the filtered subscription, not ${other}`);
  });

  it('sees a change made by another process (straight in the database): the feed is PostgreSQL, not this process', async () => {
    const sub = await subscribe('/db');
    const res = await ingest('evt-live-2');
    const id = res.body.deliveries.find((d: { subscriptionId: string }) => d.subscriptionId === sub).id;
    await waitFor(async () => (await hub.call('GET', `/deliveries/${id}`)).body.status === 'success', 'delivered');
    const s = await stream('?status=failed');
    await s.next((e) => e.event === 'ready', 'ready');
    const pg = new PgClient({ connectionString: hub.config.databaseUrl });
    await pg.connect();
    try {
      await pg.query(`UPDATE deliveries SET status = 'failed', error = 'set by another process' WHERE id = $1`, [id]);
    } finally {
      await pg.end();
    }
    const got = await s.next((e) => e.event === 'delivery' && e.data.id === id, 'the outside change');
    assert.equal(got.data.error, 'set by another process');
  });

  it('tells clients to resync when a statement changes more rows than one notification carries', async () => {
    const s = await stream('');
    await s.next((e) => e.event === 'ready', 'ready');
    await hub.dataSource.query(`UPDATE deliveries SET updated_at = now()`); // fewer than 65 rows here: ids
    await hub.dataSource.query(`SELECT pg_notify('delivery_changes', '{"many":true}')`);
    await s.next((e) => e.event === 'resync', 'resync');
  });

  it('streams to a signed-in browser session (cookie, no bearer) and refuses a stream without credentials', async () => {
    const session = await signIn(hub, ADMIN_TOKEN);
    const s = await stream('', { cookie: session.cookie });
    assert.equal(s.status, 200);
    await s.next((e) => e.event === 'ready', 'ready');
    const anon = await stream('', {});
    assert.equal(anon.status, 401);
    const bad = await stream('?status=nope');
    assert.equal(bad.status, 400);
  });

  it('filters the log by several statuses at once and finds a delivery by delivery, emission or external id', async () => {
    const all = (await hub.call('GET', '/deliveries?limit=500')).body.items as { id: string; status: string; emissionId: string }[];
    const statuses = new Set(all.map((d) => d.status));
    assert.ok(statuses.has('failed') && statuses.has('success'), JSON.stringify([...statuses]));
    for (const q of ['status=failed,success', 'status=failed&status=success']) {
      const both = (await hub.call('GET', `/deliveries?${q}&limit=500`)).body.items as { status: string }[];
      assert.equal(both.length, all.filter((d) => d.status === 'failed' || d.status === 'success').length, q);
    }
    const failed = (await hub.call('GET', '/deliveries?status=failed')).body.items;
    assert.ok(failed.every((d: { status: string }) => d.status === 'failed') && failed.length > 0);
    const bad = await hub.call('GET', '/deliveries?status=failed,nope');
    assert.equal(bad.status, 400);
    assert.ok(bad.body.errors.some((e: { path: string }) => e.path.startsWith('query.status')), JSON.stringify(bad.body));

    const target = all[0];
    await hub.dataSource.query(`UPDATE deliveries SET external_id = 'EXT-42' WHERE id = $1`, [target.id]);
    for (const search of [target.id, 'EXT-42']) {
      const r = (await hub.call('GET', `/deliveries?search=${encodeURIComponent(search)}`)).body.items;
      assert.deepEqual(r.map((d: { id: string }) => d.id), [target.id], search);
    }
    const byEmission = (await hub.call('GET', `/deliveries?search=${target.emissionId}`)).body.items;
    assert.ok(byEmission.length >= 1 && byEmission.every((d: { emissionId: string }) => d.emissionId === target.emissionId));
  });

  it('filters live updates exactly as the list filters them (matchesFilter mirrors the SQL)', async () => {
    const all = (await hub.call('GET', '/deliveries?limit=500')).body.items as FilterableDelivery[];
    const first = all[0];
    const filters: DeliveryFilter[] = [
      { status: ['failed', 'success'] }, { status: 'retrying' }, { subscriptionId: first.subscriptionId }, { event: 'incident.created' },
      { provider: 'webhook' }, { systemId: 'sys-live' }, { systemId: 'sys-none' }, { since: first.createdAt }, { until: first.createdAt },
      { search: first.id }, { search: first.emissionId }, { status: 'success', subscriptionId: first.subscriptionId, since: all[all.length - 1].createdAt },
    ];
    for (const f of filters) {
      const qs = new URLSearchParams(Object.entries(f).map(([k, v]): [string, string] => [k, Array.isArray(v) ? v.join(',') : String(v)]));
      const listed = (await hub.call('GET', `/deliveries?${qs}&limit=500`)).body.items.map((d: { id: string }) => d.id);
      assert.deepEqual(all.filter((d) => matchesFilter(d, f)).map((d) => d.id), listed, JSON.stringify(f));
    }
  });

  it('counts what a bulk recover would redeliver (dryRun) without redelivering anything', async () => {
    const since = new Date(Date.now() - 3_600_000).toISOString();
    const failed = (await hub.call('GET', `/deliveries?status=failed&since=${since}`)).body.items.length;
    assert.ok(failed >= 1);
    const before = receiver.received.length;
    const dry = await hub.call('POST', '/deliveries/recover', { status: 'failed', since, dryRun: true });
    assert.equal(dry.status, 200);
    assert.equal(dry.body.count, failed);
    const stillFailed = (await hub.call('GET', `/deliveries?status=failed&since=${since}`)).body.items.length;
    assert.equal(stillFailed, failed, 'a dry run changes nothing');
    assert.equal(receiver.received.length, before);
  });

  describe('NOTIFY only while someone watches (a lease in live_watchers; each NOTIFY takes the cluster-wide notify lock)', () => {
    /** A raw LISTEN on the trigger's channel, beside the API's own. */
    async function rawListener() {
      const pg = new PgClient({ connectionString: hub.config.databaseUrl });
      await pg.connect();
      const got: string[] = [];
      pg.on('notification', (m) => got.push(m.payload ?? ''));
      await pg.query('LISTEN delivery_changes');
      // notifications arrive in commit order: once a marker sent after a write has arrived, the write's would have too
      const settle = async (marker: string) => {
        await hub.dataSource.query(`SELECT pg_notify('delivery_changes', $1)`, [JSON.stringify({ marker })]);
        await waitFor(async () => got.includes(JSON.stringify({ marker })), `marker ${marker}`);
        return got.splice(0).filter((p) => p !== JSON.stringify({ marker }));
      };
      return { pg, settle };
    }
    const currentLeases = async () =>
      Number((await hub.dataSource.query(`SELECT count(*)::int AS n FROM live_watchers WHERE expires_at > now()`))[0].n);

    it('sends nothing for a write while no stream is open, and ids once one is', async () => {
      streams.splice(0).forEach((s) => s.close());
      await waitFor(async () => (await currentLeases()) === 0, 'the last stream closed gives its lease back');
      const raw = await rawListener();
      try {
        const [{ id }] = await hub.dataSource.query(`SELECT id FROM deliveries ORDER BY created_at LIMIT 1`);
        await hub.dataSource.query(`UPDATE deliveries SET updated_at = now() WHERE id = $1`, [id]);
        assert.deepEqual(await raw.settle('quiet'), [], 'no NOTIFY without a lease');

        const s = await stream('');
        await s.next((e) => e.event === 'ready', 'ready');
        assert.equal(await currentLeases(), 1, 'the open stream holds a lease');
        await hub.dataSource.query(`UPDATE deliveries SET error = 'seen live' WHERE id = $1`, [id]);
        assert.deepEqual((await raw.settle('watched')).map((p) => JSON.parse(p)), [{ ids: [id] }]);
        const got = await s.next((e) => e.event === 'delivery' && e.data.id === id, 'the change');
        assert.equal(got.data.error, 'seen live');
      } finally {
        await raw.pg.end();
      }
    });

    it('holds `ready` back until a write that was in progress when the lease was taken has committed', async () => {
      streams.splice(0).forEach((s) => s.close());
      await waitFor(async () => (await currentLeases()) === 0, 'no lease');
      const [{ id }] = await hub.dataSource.query(`SELECT id FROM deliveries ORDER BY created_at LIMIT 1`);
      const writer = new PgClient({ connectionString: hub.config.databaseUrl });
      await writer.connect();
      try {
        await writer.query('BEGIN');
        await writer.query(`UPDATE deliveries SET error = 'written before the lease' WHERE id = $1`, [id]); // its trigger sent nothing
        const s = await stream('');
        // the API's live connection is in its wait for that transaction
        await waitFor(async () => {
          const r = await hub.dataSource.query(`SELECT query FROM pg_stat_activity WHERE application_name = 'integrations-hub-live'`);
          return r.some((x: { query: string }) => x.query.includes('pg_xact_status'));
        }, 'the lease waits for writes in progress');
        assert.equal(s.events.filter((e) => e.event === 'ready').length, 0, 'no ready while the older write is open');
        await writer.query('COMMIT');
        await s.next((e) => e.event === 'ready', 'ready after the commit');
        // the client loads its list after ready: the older write is in it
        const listed = (await hub.call('GET', `/deliveries/${id}`)).body;
        assert.equal(listed.error, 'written before the lease');
      } finally {
        await writer.end();
      }
    });

    it('fails a subscription whose connection drops while its lease waits (no hang), and the next one works', async () => {
      const url = new URL(hub.config.databaseUrl!);
      const proxy = await new TcpProxy({ host: url.hostname, port: Number(url.port) }).start();
      url.port = String(proxy.port);
      // a process of its own, connected through the proxy; no batch is loaded here, so it needs no DeliveryService
      const live = new LiveDeliveries(url.toString(), undefined as unknown as DeliveryService, createLogger('silent', 'test'));
      const listener = { changed: () => {}, resync: () => {}, ended: () => {} };
      const writer = new PgClient({ connectionString: hub.config.databaseUrl });
      await writer.connect();
      try {
        await writer.query('BEGIN');
        await writer.query('SELECT pg_current_xact_id()'); // a transaction id: in progress when the lease is taken
        const first = live.subscribe(listener);
        await waitFor(async () => {
          const r = await hub.dataSource.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'integrations-hub-live' AND query LIKE '%pg_xact_status%'`);
          return r[0].n >= 1;
        }, 'the lease to wait for the open write');
        await proxy.cut();
        await assert.rejects(first, 'the subscription ends with an error instead of waiting for ever');
        await writer.query('COMMIT');
        await proxy.restore();
        const stop = await live.subscribe(listener);
        stop();
      } finally {
        live.stop();
        await writer.end();
        await proxy.stop();
      }
    });

    it('takes a lapsed lease again and tells its streams to resync', async () => {
      const s = await stream('');
      await s.next((e) => e.event === 'ready', 'ready');
      await hub.dataSource.query(`UPDATE live_watchers SET expires_at = now() - interval '1 second'`);
      assert.equal(await currentLeases(), 0);
      const live = hub.api.live as unknown as { renew(c: unknown): Promise<void>; client: unknown };
      await live.renew(live.client);
      await s.next((e) => e.event === 'resync', 'resync after the lapse');
      assert.equal(await currentLeases(), 1);
    });
  });

  it('ends every open stream at shutdown, and listens again for the next client', async () => {
    const s = await stream('');
    await s.next((e) => e.event === 'ready', 'ready');
    hub.api.live.stop();
    await assert.rejects(s.next(() => false, 'the end of the stream', 10_000), /stream ended/);
    const again = await stream('');
    await again.next((e) => e.event === 'ready', 'ready again');
    await hub.dataSource.query(`SELECT pg_notify('delivery_changes', '{"many":true}')`);
    await again.next((e) => e.event === 'resync', 'a change after the restart');
  });
});
