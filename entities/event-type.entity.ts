import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/** A subscribable event type in the catalogue (`<owner>.<name>`). */
@Entity({ name: 'event_types' })
export class EventTypeEntity {
  @PrimaryColumn({ type: 'varchar', length: 200 })
  id!: string;

  @Column({ type: 'varchar', length: 100 })
  owner!: string;

  @Column({ name: 'display_name', type: 'varchar', length: 200 })
  displayName!: string;

  @Column({ type: 'text', default: '' })
  description!: string;

  @Column({ type: 'varchar', length: 100, nullable: true })
  category!: string | null;

  @Column({ name: 'payload_schema', type: 'jsonb', nullable: true })
  payloadSchema!: Record<string, unknown> | null;

  @Column({ name: 'subject_key', type: 'varchar', length: 200, nullable: true })
  subjectKey!: string | null;

  @Column({ type: 'jsonb', nullable: true })
  example!: Record<string, unknown> | null;

  /** Ends its subject (incident resolved, maintenance completed): providers close the external record. */
  @Column({ type: 'boolean', default: false })
  resolves!: boolean;

  @Column({ type: 'boolean', default: false })
  builtin!: boolean;

  /** API token id that registered it (null: the hub's seed, or registered before this was kept). */
  @Column({ name: 'registered_by', type: 'varchar', length: 64, nullable: true })
  registeredBy!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
