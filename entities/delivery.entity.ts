import { Column, Entity, PrimaryColumn } from 'typeorm';

export const DELIVERY_STATUSES = ['pending', 'retrying', 'success', 'failed'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** One (emission, subscription) pair: the unit the delivery workflow drives to an end. */
@Entity({ name: 'deliveries' })
export class DeliveryEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  id!: string;

  @Column({ name: 'subscription_id', type: 'varchar', length: 64 })
  subscriptionId!: string;

  @Column({ type: 'varchar', length: 100 })
  provider!: string;

  @Column({ type: 'varchar', length: 200 })
  event!: string;

  @Column({ name: 'emission_id', type: 'varchar', length: 200 })
  emissionId!: string;

  @Column({ name: 'system_ids', type: 'text', array: true, default: () => "'{}'" })
  systemIds!: string[];

  @Column({ type: 'jsonb' })
  payload!: Record<string, unknown>;

  /** When retention dropped the payload (it is `{}` since); null while it is kept. */
  @Column({ name: 'payload_purged_at', type: 'timestamptz', nullable: true })
  payloadPurgedAt!: Date | null;

  @Column({ type: 'varchar', length: 16 })
  status!: DeliveryStatus;

  @Column({ type: 'integer', default: 0 })
  attempts!: number;

  @Column({ name: 'last_attempt_at', type: 'timestamptz', nullable: true })
  lastAttemptAt!: Date | null;

  @Column({ name: 'next_retry_at', type: 'timestamptz', nullable: true })
  nextRetryAt!: Date | null;

  @Column({ name: 'external_id', type: 'text', nullable: true })
  externalId!: string | null;

  @Column({ type: 'text', nullable: true })
  error!: string | null;

  @Column({ name: 'workflow_id', type: 'varchar', length: 300 })
  workflowId!: string;

  /** Set once the workflow is known to be started; the reconciler starts the rest. */
  @Column({ name: 'workflow_started', type: 'boolean', default: false })
  workflowStarted!: boolean;

  @Column({ type: 'boolean', default: false })
  test!: boolean;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' })
  updatedAt!: Date;
}
