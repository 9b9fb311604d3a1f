import { Column, CreateDateColumn, Entity, Index, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/** Per-subscription retry policy: exponential, or an explicit schedule of delays. */
export type RetryPolicy =
  | { maxAttempts: number; initialIntervalMs: number; backoffCoefficient: number; maxIntervalMs: number }
  | { scheduleMs: number[] };

/** One event wired to one provider with its config (secret fields stored encrypted). */
@Entity({ name: 'subscriptions' })
@Index('subscriptions_event_enabled', ['event', 'enabled'])
export class SubscriptionEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  id!: string;

  @Column({ type: 'varchar', length: 200 })
  name!: string;

  @Column({ type: 'text', nullable: true })
  description!: string | null;

  @Column({ type: 'varchar', length: 100 })
  provider!: string;

  @Column({ name: 'connection_id', type: 'varchar', length: 64, nullable: true })
  connectionId!: string | null;

  /** Provider config; secret fields hold EncryptedValue objects, never plaintext. */
  @Column({ type: 'jsonb' })
  config!: Record<string, unknown>;

  @Column({ type: 'varchar', length: 200 })
  event!: string;

  @Column({ name: 'system_ids', type: 'text', array: true, default: () => "'{}'" })
  systemIds!: string[];

  @Column({ type: 'boolean', default: true })
  enabled!: boolean;

  @Column({ name: 'retry_policy', type: 'jsonb', nullable: true })
  retryPolicy!: RetryPolicy | null;

  /** Collapse queued follow-ups of one record into the newest (null: the provider's default). */
  @Column({ name: 'coalesce_follow_ups', type: 'boolean', nullable: true })
  coalesceFollowUps!: boolean | null;

  @Column({ name: 'paused_reason', type: 'text', nullable: true })
  pausedReason!: string | null;

  /** The target (see src/targets/key.ts) this subscription last delivered to; set by the attempts. */
  @Column({ name: 'target_key', type: 'varchar', length: 512, nullable: true, select: false, insert: false, update: false })
  targetKey!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
