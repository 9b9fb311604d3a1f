import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The payload is stored once, on the emission (issue 21 item 5; docs/DESIGN.md decision 16). Phase one of two,
 * safe while processes of the previous release run (they read and write `deliveries.payload`): the copy column
 * only becomes nullable. Nothing is rewritten or dropped; rows keep their copies, old code keeps writing them,
 * and this release writes one too while DELIVERY_PAYLOAD_COPY is on (the default), NULL once it is off.
 * Phase two (a later release, once no process reads `deliveries.payload`) drops the column.
 *
 * `down` puts the copy back on the rows that have none (from their emission), so the previous release's code,
 * which reads the payload from `deliveries.payload` only, runs again on the database.
 */
export class PayloadOnEmission1765531407000 implements MigrationInterface {
  name = 'PayloadOnEmission1765531407000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE deliveries ALTER COLUMN payload DROP NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      UPDATE deliveries d SET payload = CASE WHEN d.payload_purged_at IS NULL THEN e.payload ELSE '{}'::jsonb END
        FROM emissions e WHERE e.id = d.emission_id AND d.payload IS NULL`);
    await q.query(`UPDATE deliveries SET payload = '{}'::jsonb WHERE payload IS NULL`);
    await q.query(`ALTER TABLE deliveries ALTER COLUMN payload SET NOT NULL`);
  }
}
