import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Provider plugins installed at run time. At most one installed (not uninstalled) row per package; every
 * insert or update sends a NOTIFY on `plugin_changes` so each API and worker process loads or unloads it.
 */
export class Plugins1764800000000 implements MigrationInterface {
  name = 'Plugins1764800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE plugins (
        id varchar(64) PRIMARY KEY,
        package varchar(214) NOT NULL,
        version varchar(100) NOT NULL,
        integrity text NOT NULL,
        origin varchar(20) NOT NULL,
        tarball bytea NOT NULL,
        installed_by varchar(64) NOT NULL,
        installed_at timestamptz NOT NULL DEFAULT now(),
        uninstalled_by varchar(64),
        uninstalled_at timestamptz
      )`);
    await q.query(`CREATE UNIQUE INDEX plugins_installed_package ON plugins (package) WHERE uninstalled_at IS NULL`);
    await q.query(`
      CREATE FUNCTION notify_plugin_changes() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('plugin_changes', NEW.id);
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE TRIGGER plugins_notify AFTER INSERT OR UPDATE ON plugins
      FOR EACH ROW EXECUTE FUNCTION notify_plugin_changes()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE plugins`);
    await q.query(`DROP FUNCTION notify_plugin_changes()`);
  }
}
