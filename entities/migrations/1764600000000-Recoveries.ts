import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Bulk recoveries (`POST /deliveries/recover`): each runs as a workflow; its progress is kept here. */
export class Recoveries1764600000000 implements MigrationInterface {
  name = 'Recoveries1764600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE recoveries (
        id varchar(64) PRIMARY KEY,
        filter jsonb NOT NULL,
        status varchar(16) NOT NULL,
        total integer NOT NULL,
        done integer NOT NULL DEFAULT 0,
        failed integer NOT NULL DEFAULT 0,
        cursor varchar(64),
        error text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE recoveries`);
  }
}
