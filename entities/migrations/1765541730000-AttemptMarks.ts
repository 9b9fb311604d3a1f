import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The attempt a delivery is sending, as a local activity's token (run id and activity sequence): written just
 * before the provider is called, so that the same local activity run again after its worker died (the
 * workflow task timed out before its result was recorded) knows the provider may have been called and logs
 * `attempt_lost` instead of sending the attempt a second time unlogged (docs/DESIGN.md decision 15). One row
 * per delivery, overwritten by each attempt; deleted with its delivery. Its own table, not a column of
 * `deliveries`, so that the mark fires none of the triggers on deliveries (live updates).
 */
export class AttemptMarks1765541730000 implements MigrationInterface {
  name = 'AttemptMarks1765541730000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE attempt_marks (
      delivery_id varchar(64) PRIMARY KEY REFERENCES deliveries(id) ON DELETE CASCADE,
      token varchar(200) NOT NULL
    )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE attempt_marks`);
  }
}
