import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Rate limits per destination (target key: URL origin or the provider's follow-up target), shared by every
 * worker: a configured limit (`per_second`, with the next free send slot) and a learned block
 * (`blocked_until`, from a 429 or a provider's rate-limit answer). Updated under a row lock per attempt.
 */
export class TargetLimits1765000000000 implements MigrationInterface {
  name = 'TargetLimits1765000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE target_limits (
        target_key varchar(500) PRIMARY KEY,
        per_second double precision CHECK (per_second IS NULL OR per_second > 0),
        next_slot_at timestamptz,
        blocked_until timestamptz,
        learned_at timestamptz,
        learned_status integer,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE target_limits`);
  }
}
