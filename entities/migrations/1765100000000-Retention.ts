import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Retention: payloads can be dropped before their rows (`payload_purged_at` marks it; the payload becomes
 * `{}`), and the purge finds old rows through indexes instead of scanning the tables. The partial indexes
 * hold only rows whose payload is still there, so a purge that has dropped many payloads does not walk
 * over them again in every batch.
 */
export class Retention1765100000000 implements MigrationInterface {
  name = 'Retention1765100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE deliveries ADD COLUMN payload_purged_at timestamptz`);
    await q.query(`ALTER TABLE emissions ADD COLUMN payload_purged_at timestamptz`);
    await q.query(`CREATE INDEX deliveries_payload_kept ON deliveries (created_at) WHERE payload_purged_at IS NULL`);
    await q.query(`CREATE INDEX emissions_received ON emissions (received_at)`);
    await q.query(`CREATE INDEX emissions_payload_kept ON emissions (received_at) WHERE payload_purged_at IS NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX emissions_payload_kept`);
    await q.query(`DROP INDEX emissions_received`);
    await q.query(`DROP INDEX deliveries_payload_kept`);
    await q.query(`ALTER TABLE emissions DROP COLUMN payload_purged_at`);
    await q.query(`ALTER TABLE deliveries DROP COLUMN payload_purged_at`);
  }
}
