import { Column, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/** An admin's switch for one provider; no row means enabled. */
@Entity({ name: 'provider_settings' })
export class ProviderSettingEntity {
  @PrimaryColumn({ type: 'varchar', length: 100 })
  id!: string;

  @Column({ type: 'boolean' })
  enabled!: boolean;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
