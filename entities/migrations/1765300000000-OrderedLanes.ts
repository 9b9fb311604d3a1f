import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Ordered follow-ups (docs/DESIGN.md decision 12): every delivery of an event with a subject gets the subject's
 * key and a sequence number from ingest's transaction, so the deliveries that edit one external record are
 * attempted in the order ingest accepted their events. `lane_key` is set by a delivery's first attempt (its
 * provider, follow-up target and subject); `waiting_for` names the delivery it waits behind; a delivery whose
 * newer state another one carries ends `superseded` (`superseded_by`). Subscriptions get the coalescing switch
 * (null: the provider's default). Every column is nullable, so workers from before it keep running.
 */
export class OrderedLanes1765300000000 implements MigrationInterface {
  name = 'OrderedLanes1765300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE SEQUENCE delivery_lane_seq AS bigint`);
    await q.query(`
      ALTER TABLE deliveries
        ADD COLUMN subject_key varchar(64),
        ADD COLUMN lane_seq bigint,
        ADD COLUMN lane_key varchar(64),
        ADD COLUMN waiting_for varchar(64),
        ADD COLUMN superseded_by varchar(64)`);
    await q.query(`ALTER TABLE deliveries DROP CONSTRAINT IF EXISTS deliveries_status_check`);
    await q.query(`ALTER TABLE deliveries ADD CONSTRAINT deliveries_status_check
      CHECK (status IN ('pending','retrying','success','failed','superseded'))`);
    // the lane's unfinished members, by subject and sequence (the only rows the lane queries look at)
    await q.query(`CREATE INDEX deliveries_lane_open ON deliveries (subject_key, provider, lane_seq)
      WHERE subject_key IS NOT NULL AND status IN ('pending','retrying')`);
    await q.query(`CREATE INDEX deliveries_lane_members ON deliveries (lane_key, lane_seq) WHERE lane_key IS NOT NULL`);
    await q.query(`CREATE INDEX deliveries_waiting_for ON deliveries (waiting_for) WHERE waiting_for IS NOT NULL`);
    await q.query(`ALTER TABLE subscriptions ADD COLUMN coalesce_follow_ups boolean`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE subscriptions DROP COLUMN coalesce_follow_ups`);
    await q.query(`DROP INDEX deliveries_waiting_for`);
    await q.query(`DROP INDEX deliveries_lane_members`);
    await q.query(`DROP INDEX deliveries_lane_open`);
    await q.query(`UPDATE deliveries SET status = 'failed' WHERE status = 'superseded'`);
    await q.query(`ALTER TABLE deliveries DROP CONSTRAINT deliveries_status_check`);
    await q.query(`ALTER TABLE deliveries ADD CONSTRAINT deliveries_status_check CHECK (status IN ('pending','retrying','success','failed'))`);
    await q.query(`ALTER TABLE deliveries DROP COLUMN subject_key, DROP COLUMN lane_seq, DROP COLUMN lane_key, DROP COLUMN waiting_for, DROP COLUMN superseded_by`);
    await q.query(`DROP SEQUENCE delivery_lane_seq`);
  }
}
