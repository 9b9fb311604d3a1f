import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The live log's notification, as UiSessionsAndDeliveryNotify1764700000000 made it (ids, or `many` above 64 rows). */
const NOTIFY_CHANGED_ROWS = `
        SELECT array_agg(id), count(*) INTO ids, n FROM (SELECT id FROM changed_rows LIMIT 65) c;
        IF n = 0 THEN
          RETURN NULL;
        ELSIF n > 64 THEN
          PERFORM pg_notify('delivery_changes', '{"many":true}');
        ELSE
          PERFORM pg_notify('delivery_changes', json_build_object('ids', ids)::text);
        END IF;
        RETURN NULL;`;

/**
 * The live log's NOTIFY only while someone watches (issue 22). A transaction that sends a NOTIFY holds PostgreSQL's
 * one cluster-wide notify lock from its pre-commit to its end, WAL flush included, so every statement that writes
 * deliveries (ingest, each attempt's mark and log write, the started marks) queued behind every other one's commit:
 * at 100 events/s an ingest COMMIT waited 20-36 ms for it and the API's pool ran dry. An API process with a live
 * stream open keeps a lease row here (src/deliveries/live.ts); the trigger NOTIFYs only while one is current.
 */
export class LiveWatchers1765600000000 implements MigrationInterface {
  name = 'LiveWatchers1765600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE live_watchers (id varchar(64) PRIMARY KEY, expires_at timestamptz NOT NULL)`);
    // a trigger's query sees what committed before it ran (a volatile function takes a new snapshot per query),
    // so a lease is seen by every statement whose trigger runs after the lease committed
    await q.query(`
      CREATE OR REPLACE FUNCTION notify_delivery_changes() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        ids text[];
        n int;
      BEGIN
        IF NOT EXISTS (SELECT 1 FROM live_watchers WHERE expires_at > now()) THEN
          RETURN NULL;
        END IF;${NOTIFY_CHANGED_ROWS}
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE OR REPLACE FUNCTION notify_delivery_changes() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        ids text[];
        n int;
      BEGIN${NOTIFY_CHANGED_ROWS}
      END $$`);
    await q.query(`DROP TABLE live_watchers`);
  }
}
