import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Every status a delivery can have; `superseded`: a newer delivery in its lane carried its state (never sent). */
export const DELIVERY_STATUSES = ['pending', 'retrying', 'success', 'failed', 'superseded'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];
/** The statuses of a delivery that has not ended (its workflow runs, or is about to start). */
export const OPEN_DELIVERY_STATUSES = ['pending', 'retrying'] as const satisfies readonly DeliveryStatus[];
/** The statuses a delivery ends with. */
export const FINAL_DELIVERY_STATUSES = ['success', 'failed', 'superseded'] as const satisfies readonly DeliveryStatus[];

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

  /**
   * A copy of the emission's payload: rows from before the payload was stored once, and rows written while
   * DELIVERY_PAYLOAD_COPY is on (for workers of the previous release); NULL otherwise. Never loaded with the
   * entity: readers take the payload from the emission (src/deliveries/payload.ts).
   */
  @Column({ name: 'payload', type: 'jsonb', nullable: true, select: false })
  payloadCopy!: Record<string, unknown> | null;

  /** When retention dropped this delivery's payload (and its attempts' exchanges); null while it is kept. */
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

  /** The event's subject (owner and value, hashed), set at ingest; null when the event names none. */
  @Column({ name: 'subject_key', type: 'varchar', length: 64, nullable: true })
  subjectKey!: string | null;

  /** Order of acceptance among deliveries of one subject (a sequence read in ingest's transaction). */
  @Column({ name: 'lane_seq', type: 'bigint', nullable: true })
  laneSeq!: string | null;

  /** The lane (provider, follow-up target, subject; hashed), set by the first attempt that looked at it. */
  @Column({ name: 'lane_key', type: 'varchar', length: 64, nullable: true })
  laneKey!: string | null;

  /** The earlier delivery of its lane this one waits behind (pending, no attempt made for the wait). */
  @Column({ name: 'waiting_for', type: 'varchar', length: 64, nullable: true })
  waitingFor!: string | null;

  /** Status `superseded`: the later delivery of its lane that carried the newer state instead. */
  @Column({ name: 'superseded_by', type: 'varchar', length: 64, nullable: true })
  supersededBy!: string | null;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' })
  updatedAt!: Date;
}
