import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/** One event received at ingest. The id is the idempotency key. */
@Entity({ name: 'emissions' })
export class EmissionEntity {
  @PrimaryColumn({ type: 'varchar', length: 200 })
  id!: string;

  @Column({ type: 'varchar', length: 200 })
  event!: string;

  @Column({ name: 'occurred_at', type: 'timestamptz' })
  occurredAt!: Date;

  @Column({ name: 'system_ids', type: 'text', array: true, default: () => "'{}'" })
  systemIds!: string[];

  @Column({ type: 'jsonb' })
  payload!: Record<string, unknown>;

  /** When retention dropped the payload (it is `{}` since); null while it is kept. */
  @Column({ name: 'payload_purged_at', type: 'timestamptz', nullable: true })
  payloadPurgedAt!: Date | null;

  @Column({ type: 'boolean', default: false })
  test!: boolean;

  @CreateDateColumn({ name: 'received_at', type: 'timestamptz' })
  receivedAt!: Date;
}
