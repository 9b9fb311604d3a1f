import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Replays of missed events (`POST /subscriptions/{id}/replay`): each runs as a workflow; its range and progress
 * are kept here. Emissions get an index by event and arrival, which replay and the "undelivered" list scan.
 */
export class Replays1765200000000 implements MigrationInterface {
  name = 'Replays1765200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE replays (
        id varchar(64) PRIMARY KEY,
        subscription_id varchar(64) NOT NULL,
        since timestamptz NOT NULL,
        until timestamptz NOT NULL,
        status varchar(16) NOT NULL,
        total integer NOT NULL,
        delivered integer NOT NULL DEFAULT 0,
        existing integer NOT NULL DEFAULT 0,
        cursor varchar(200),
        error text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz
      )`);
    await q.query(`CREATE INDEX replays_subscription ON replays (subscription_id, created_at DESC)`);
    await q.query(`CREATE INDEX emissions_event_received ON emissions (event, received_at DESC, id DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX emissions_event_received`);
    await q.query(`DROP TABLE replays`);
  }
}
