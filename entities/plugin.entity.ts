import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * One provider plugin installed at run time: what was installed, from where, its verified integrity and who
 * installed (and later uninstalled) it. Rows are kept after an uninstall as the record; the tarball is kept
 * so every process can unpack exactly the verified bytes into its own data folder.
 */
@Entity({ name: 'plugins' })
export class PluginEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  id!: string;

  @Column({ type: 'varchar', length: 214 })
  package!: string;

  @Column({ type: 'varchar', length: 100 })
  version!: string;

  /** Subresource-integrity string (`sha512-<base64>`) of the tarball. */
  @Column({ type: 'text' })
  integrity!: string;

  /** `registry` (fetched from PLUGIN_REGISTRY_URL) or `upload` (a tarball sent to the API). */
  @Column({ type: 'varchar', length: 20 })
  origin!: 'registry' | 'upload';

  @Column({ type: 'bytea', select: false })
  tarball!: Buffer;

  @Column({ name: 'installed_by', type: 'varchar', length: 64 })
  installedBy!: string;

  @Column({ name: 'installed_at', type: 'timestamptz', default: () => 'now()' })
  installedAt!: Date;

  @Column({ name: 'uninstalled_by', type: 'varchar', length: 64, nullable: true })
  uninstalledBy!: string | null;

  @Column({ name: 'uninstalled_at', type: 'timestamptz', nullable: true })
  uninstalledAt!: Date | null;

  /** Set when its host kept crashing: no process runs it until it is installed again. */
  @Column({ name: 'disabled_at', type: 'timestamptz', nullable: true })
  disabledAt!: Date | null;

  @Column({ name: 'disabled_reason', type: 'text', nullable: true })
  disabledReason!: string | null;

  /** Provider ids the trial load at install described. */
  @Column({ type: 'text', array: true, default: () => "'{}'" })
  providers!: string[];
}
