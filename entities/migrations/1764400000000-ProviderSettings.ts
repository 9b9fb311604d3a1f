import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Enabling and disabling providers, shared by every API and worker process. */
export class ProviderSettings1764400000000 implements MigrationInterface {
  name = 'ProviderSettings1764400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE provider_settings (
        id varchar(100) PRIMARY KEY,
        enabled boolean NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE provider_settings`);
  }
}
