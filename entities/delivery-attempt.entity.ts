import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

export type AttemptOutcome = 'success' | 'retryable' | 'permanent';
export type AttemptTrigger = 'scheduled' | 'manual';

/** One provider call of a delivery, exactly as it happened. */
@Entity({ name: 'delivery_attempts' })
export class DeliveryAttemptEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  @Column({ name: 'delivery_id', type: 'varchar', length: 64 })
  deliveryId!: string;

  @Column({ type: 'integer' })
  attempt!: number;

  @Column({ name: 'started_at', type: 'timestamptz' })
  startedAt!: Date;

  @Column({ name: 'duration_ms', type: 'integer' })
  durationMs!: number;

  @Column({ type: 'varchar', length: 16 })
  outcome!: AttemptOutcome;

  @Column({ name: 'http_status', type: 'integer', nullable: true })
  httpStatus!: number | null;

  @Column({ name: 'error_code', type: 'varchar', length: 100, nullable: true })
  errorCode!: string | null;

  @Column({ type: 'text', nullable: true })
  error!: string | null;

  /** Output kept with the attempt (a script's console), sanitised. */
  @Column({ type: 'text', nullable: true })
  log!: string | null;

  @Column({ type: 'varchar', length: 16 })
  trigger!: AttemptTrigger;

  /**
   * The attempt's HTTP requests and responses, secrets masked, bodies cut to ATTEMPT_BODY_MAX_BYTES
   * (StoredExchange[] of workflows/types.ts); null when it made none or retention purged them.
   */
  @Column({ type: 'jsonb', nullable: true, select: false })
  exchanges!: unknown[] | null;
}
