import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Target health: the recent outcomes of attempts by target (a URL origin, a Slack channel, a Jira project),
 * one circuit per target, and the target each subscription last delivered to (to list and pause them).
 */
export class TargetHealth1764900000000 implements MigrationInterface {
  name = 'TargetHealth1764900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE target_outcomes (
        id bigserial PRIMARY KEY,
        target_key varchar(512) NOT NULL,
        at timestamptz NOT NULL DEFAULT now(),
        ok boolean NOT NULL
      )`);
    await q.query(`CREATE INDEX target_outcomes_key_at ON target_outcomes (target_key, at)`);
    await q.query(`
      CREATE TABLE target_health (
        target_key varchar(512) PRIMARY KEY,
        provider varchar(64) NOT NULL,
        state varchar(16) NOT NULL DEFAULT 'closed',
        opened_at timestamptz,
        probe_at timestamptz,
        probe_until timestamptz,
        window_from timestamptz,
        failing_since timestamptz,
        last_success_at timestamptz,
        last_failure_at timestamptz,
        paused_at timestamptz,
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT target_health_state CHECK (state IN ('closed', 'open', 'half_open'))
      )`);
    await q.query(`ALTER TABLE subscriptions ADD COLUMN target_key varchar(512)`);
    await q.query(`CREATE INDEX subscriptions_target_key ON subscriptions (target_key) WHERE target_key IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE subscriptions DROP COLUMN target_key`);
    await q.query(`DROP TABLE target_health`);
    await q.query(`DROP TABLE target_outcomes`);
  }
}
