import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Shared connections, the follow-up map of external records, resolving event types, attempt output. */
export class ConnectionsAndFollowUps1764300000000 implements MigrationInterface {
  name = 'ConnectionsAndFollowUps1764300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE connections (
        id varchar(64) PRIMARY KEY,
        provider varchar(100) NOT NULL,
        name varchar(200) NOT NULL,
        config jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX subscriptions_connection ON subscriptions (connection_id) WHERE connection_id IS NOT NULL`);
    await q.query(`
      CREATE TABLE external_records (
        id bigserial PRIMARY KEY,
        provider varchar(100) NOT NULL,
        target_key varchar(500) NOT NULL,
        subject varchar(500) NOT NULL,
        external_id text,
        creating_delivery_id varchar(64) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT external_records_target_subject UNIQUE (provider, target_key, subject)
      )`);
    await q.query(`ALTER TABLE event_types ADD COLUMN resolves boolean NOT NULL DEFAULT false`);
    await q.query(`ALTER TABLE delivery_attempts ADD COLUMN log text`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE delivery_attempts DROP COLUMN log`);
    await q.query(`ALTER TABLE event_types DROP COLUMN resolves`);
    await q.query(`DROP TABLE external_records`);
    await q.query(`DROP INDEX subscriptions_connection`);
    await q.query(`DROP TABLE connections`);
  }
}
