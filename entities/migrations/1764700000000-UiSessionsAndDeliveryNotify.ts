import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Admin UI sign-in sessions (only a hash of the cookie is stored) and live updates of the delivery log:
 * every statement that inserts or updates deliveries sends one NOTIFY on `delivery_changes` with the ids
 * it touched (or `{"many": true}` above 64 rows), so every API process can push the change to its browsers.
 */
export class UiSessionsAndDeliveryNotify1764700000000 implements MigrationInterface {
  name = 'UiSessionsAndDeliveryNotify1764700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE ui_sessions (
        id char(64) PRIMARY KEY,
        token_hash char(64) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL
      )`);
    await q.query(`CREATE INDEX ui_sessions_expires ON ui_sessions (expires_at)`);
    await q.query(`CREATE INDEX ui_sessions_token ON ui_sessions (token_hash)`);
    // the log's "search by id" looks up external ids too
    await q.query(`CREATE INDEX deliveries_external_id ON deliveries (external_id) WHERE external_id IS NOT NULL`);
    await q.query(`
      CREATE FUNCTION notify_delivery_changes() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        ids text[];
        n int;
      BEGIN
        SELECT array_agg(id), count(*) INTO ids, n FROM (SELECT id FROM changed_rows LIMIT 65) c;
        IF n = 0 THEN
          RETURN NULL;
        ELSIF n > 64 THEN
          PERFORM pg_notify('delivery_changes', '{"many":true}');
        ELSE
          PERFORM pg_notify('delivery_changes', json_build_object('ids', ids)::text);
        END IF;
        RETURN NULL;
      END $$`);
    await q.query(`CREATE TRIGGER deliveries_notify_insert AFTER INSERT ON deliveries
                   REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION notify_delivery_changes()`);
    await q.query(`CREATE TRIGGER deliveries_notify_update AFTER UPDATE ON deliveries
                   REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION notify_delivery_changes()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER deliveries_notify_update ON deliveries`);
    await q.query(`DROP TRIGGER deliveries_notify_insert ON deliveries`);
    await q.query(`DROP FUNCTION notify_delivery_changes()`);
    await q.query(`DROP INDEX deliveries_external_id`);
    await q.query(`DROP TABLE ui_sessions`);
  }
}
