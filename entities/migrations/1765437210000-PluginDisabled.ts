import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A plugin whose host kept crashing is disabled with a reason (src/plugins/runtime.ts): no process starts it
 * again until it is uninstalled and installed again. The update notifies `plugin_changes` like any other.
 * `providers`: the provider ids its trial load described at install (what to pause, even where it never loads).
 */
export class PluginDisabled1765437210000 implements MigrationInterface {
  name = 'PluginDisabled1765437210000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE plugins ADD COLUMN disabled_at timestamptz, ADD COLUMN disabled_reason text, ADD COLUMN providers text[] NOT NULL DEFAULT '{}'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE plugins DROP COLUMN disabled_at, DROP COLUMN disabled_reason, DROP COLUMN providers`);
  }
}
