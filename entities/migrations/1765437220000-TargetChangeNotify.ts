import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Workers cache which targets have no rate limit and a closed circuit, and skip the gate statements for them
 * (issue 22). Every change that could make such a target gated tells them at once: any write to a target's
 * `target_limits` row, and a `target_health` row that is not closed, NOTIFY `ihub_target_change` with the key.
 */
export class TargetChangeNotify1765437220000 implements MigrationInterface {
  name = 'TargetChangeNotify1765437220000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE FUNCTION ihub_notify_target_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' THEN
          PERFORM pg_notify('ihub_target_change', TG_TABLE_NAME || ':' || OLD.target_key);
          RETURN OLD;
        END IF;
        -- two IFs: plpgsql resolves NEW.state even where an OR would not need it, and target_limits has none
        IF TG_TABLE_NAME = 'target_limits' THEN
          PERFORM pg_notify('ihub_target_change', TG_TABLE_NAME || ':' || NEW.target_key);
        ELSIF NEW.state <> 'closed' THEN
          PERFORM pg_notify('ihub_target_change', TG_TABLE_NAME || ':' || NEW.target_key);
        END IF;
        RETURN NEW;
      END $$`);
    await q.query(`CREATE TRIGGER target_limits_notify AFTER INSERT OR UPDATE OR DELETE ON target_limits FOR EACH ROW EXECUTE FUNCTION ihub_notify_target_change()`);
    await q.query(`CREATE TRIGGER target_health_notify AFTER INSERT OR UPDATE ON target_health FOR EACH ROW EXECUTE FUNCTION ihub_notify_target_change()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER target_health_notify ON target_health`);
    await q.query(`DROP TRIGGER target_limits_notify ON target_limits`);
    await q.query(`DROP FUNCTION ihub_notify_target_change()`);
  }
}
