import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Who registered an event type (the API token id), so an ingest token without listed owners edits only the
 * event types it registered itself (issue 19). Rows from before stay null: only an admin, or an ingest token
 * listing their owner, may change those.
 */
export class EventTypeRegisteredBy1765310000000 implements MigrationInterface {
  name = 'EventTypeRegisteredBy1765310000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE event_types ADD COLUMN registered_by varchar(64)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE event_types DROP COLUMN registered_by`);
  }
}
