// Scenario 11: the payload stored once (issue 21 item 5). Events of 64 KB fanned out to 10 webhook
// subscriptions, all delivered; what `deliveries` and `emissions` grew by (pg_total_relation_size: heap, TOAST
// and indexes), with the payload stored once (DELIVERY_PAYLOAD_COPY=false) against the baseline of the same run,
// a hub that also copies it onto every delivery row (DELIVERY_PAYLOAD_COPY=true, this release's default and
// what every earlier release stored).
import crypto from 'node:crypto';
import type { BenchOptions, Row, Scenario } from '../lib/context';
import { createSubscription, deliveryCounts, startHub, waitUntil, type Hub } from '../lib/hub';
import { BenchReceiver } from '../lib/receiver';
import { ratio } from '../lib/stats';

const FAN_OUT = 10;
const PAYLOAD_BYTES = 64 * 1024;

interface Measured {
  events: number;
  deliveries: number;
  /** pg_total_relation_size growth of each table, bytes. */
  deliveriesBytes: number;
  emissionsBytes: number;
  /** Payload bytes stored per table (pg_column_size: as stored, after compression). */
  deliveryPayloadBytes: number;
  emissionPayloadBytes: number;
  /** Delivery rows that hold a copy of the payload. */
  copies: number;
}

async function sizes(hub: Hub): Promise<{ deliveries: number; emissions: number }> {
  const r = await hub.db.query(
    `SELECT pg_total_relation_size('deliveries')::float8 AS deliveries, pg_total_relation_size('emissions')::float8 AS emissions`,
  );
  return r.rows[0];
}

/** Ingests `events` events of PAYLOAD_BYTES to FAN_OUT subscriptions on a hub with the given copy setting; the growth. */
async function measure(opts: BenchOptions, copy: boolean, events: number, receiver: BenchReceiver): Promise<Measured> {
  const hub = await startHub(opts, { DELIVERY_PAYLOAD_COPY: String(copy) });
  try {
    for (let j = 0; j < FAN_OUT; j++) await createSubscription(hub, { name: `bench payload ${j}`, url: `${receiver.url}/payload/${j}` });
    await hub.db.query('VACUUM ANALYZE deliveries');
    await hub.db.query('VACUUM ANALYZE emissions');
    const before = await sizes(hub);
    const prefix = `pay${copy ? 'copy' : 'once'}-`;
    for (let i = 0; i < events; i++) {
      // random text: TOAST compression would make a repeated string almost free and hide the copies
      const description = crypto.randomBytes((PAYLOAD_BYTES * 3) / 4).toString('base64');
      const res = await hub.stack.call(
        'POST',
        '/ingest',
        { event: 'incident.created', id: `${prefix}${i}`, payload: { incidentId: `inc-${prefix}${i}`, title: 'Bench', severity: 'major', description } },
        hub.stack.ingestToken,
      );
      if (res.status !== 202) throw new Error(`payload ingest: HTTP ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
    }
    const done = await waitUntil(async () => (await deliveryCounts(hub, prefix)).success >= events * FAN_OUT, 180_000, 250);
    if (!done) throw new Error(`payload: ${JSON.stringify(await deliveryCounts(hub, prefix))} of ${events * FAN_OUT} delivered after 180 s`);
    const after = await sizes(hub);
    const cols = await hub.db.query(
      `SELECT (SELECT coalesce(sum(pg_column_size(payload)), 0) FROM deliveries WHERE emission_id LIKE $1)::float8 AS d,
              (SELECT count(*) FROM deliveries WHERE emission_id LIKE $1 AND payload IS NOT NULL)::int AS copies,
              (SELECT count(*) FROM deliveries WHERE emission_id LIKE $1)::int AS n,
              (SELECT coalesce(sum(pg_column_size(payload)), 0) FROM emissions WHERE id LIKE $1)::float8 AS e`,
      [`${prefix}%`],
    );
    const c = cols.rows[0];
    return {
      events,
      deliveries: c.n,
      deliveriesBytes: after.deliveries - before.deliveries,
      emissionsBytes: after.emissions - before.emissions,
      deliveryPayloadBytes: c.d,
      emissionPayloadBytes: c.e,
      copies: c.copies,
    };
  } finally {
    await hub.stop();
  }
}

export const payloadScenario: Scenario = {
  name: 'payload',
  title: 'Payload stored once: 64 KB events fanned out to 10 subscriptions',
  async run(opts: BenchOptions) {
    const events = opts.quick ? 5 : 20;
    const receiver = await new BenchReceiver().start();
    try {
      const copied = await measure(opts, true, events, receiver);
      opts.log(`payload: with the copy ${JSON.stringify(copied)}`);
      const once = await measure(opts, false, events, receiver);
      opts.log(`payload: stored once ${JSON.stringify(once)}`);
      const total = (m: Measured) => m.deliveriesBytes + m.emissionsBytes;
      const sc = `11 payload ${events} x 64 KB -> ${FAN_OUT} subs`;
      const kb = (n: number) => Math.round(n / 1024);
      const rows: Row[] = [
        {
          scenario: sc,
          metric: 'deliveries + emissions growth',
          value: kb(total(once)),
          unit: 'KiB',
          baseline: kb(total(copied)),
          ratio: ratio(total(once), total(copied)),
          note: `baseline: the copy on every delivery row (DELIVERY_PAYLOAD_COPY=true); per event ${kb(total(once) / events)} vs ${kb(total(copied) / events)} KiB`,
        },
        {
          scenario: sc,
          metric: 'deliveries growth',
          value: kb(once.deliveriesBytes),
          unit: 'KiB',
          baseline: kb(copied.deliveriesBytes),
          ratio: ratio(once.deliveriesBytes, copied.deliveriesBytes),
          note: `${once.deliveries} rows each; copies ${once.copies} vs ${copied.copies}; payload column ${kb(once.deliveryPayloadBytes)} vs ${kb(copied.deliveryPayloadBytes)} KiB`,
        },
        {
          scenario: sc,
          metric: 'emissions growth',
          value: kb(once.emissionsBytes),
          unit: 'KiB',
          baseline: kb(copied.emissionsBytes),
          ratio: ratio(once.emissionsBytes, copied.emissionsBytes),
          note: `payload column ${kb(once.emissionPayloadBytes)} vs ${kb(copied.emissionPayloadBytes)} KiB`,
        },
      ];
      return { rows, details: { fanOut: FAN_OUT, payloadBytes: PAYLOAD_BYTES, copied, once } };
    } finally {
      await receiver.stop();
    }
  },
};
