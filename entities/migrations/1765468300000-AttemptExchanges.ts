import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The request each attempt sent and the response it got (issue 23, gap 9): method, URL, headers and body of
 * each HTTP exchange, secrets masked, bodies cut to ATTEMPT_BODY_MAX_BYTES. Retention drops them with the
 * delivery's payload. Rows from before stay null (nothing was kept then).
 */
export class AttemptExchanges1765468300000 implements MigrationInterface {
  name = 'AttemptExchanges1765468300000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE delivery_attempts ADD COLUMN exchanges jsonb`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE delivery_attempts DROP COLUMN exchanges`);
  }
}
