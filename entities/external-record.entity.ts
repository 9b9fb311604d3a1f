import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

/**
 * The external record (Jira issue, Slack message, ...) made for one subject at one provider target
 * (docs/DESIGN.md decision 7). While `externalId` is null the row is a claim: `creatingDeliveryId` is
 * creating it, and follow-ups about the same subject wait for it instead of creating a duplicate.
 */
@Entity({ name: 'external_records' })
export class ExternalRecordEntity {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  @Column({ type: 'varchar', length: 100 })
  provider!: string;

  /** The provider target, e.g. `slack:T123:C456` or `jira:https://acme.atlassian.net:OPS`. */
  @Column({ name: 'target_key', type: 'varchar', length: 500 })
  targetKey!: string;

  /** Event owner + subject value, e.g. `incident:inc-42`. */
  @Column({ type: 'varchar', length: 500 })
  subject!: string;

  @Column({ name: 'external_id', type: 'text', nullable: true })
  externalId!: string | null;

  @Column({ name: 'creating_delivery_id', type: 'varchar', length: 64 })
  creatingDeliveryId!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
