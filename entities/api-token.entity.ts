import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

export const ROLES = ['admin', 'manager', 'viewer', 'ingest'] as const;
export type Role = (typeof ROLES)[number];

/** An API token; only the SHA-256 of the token is stored. */
@Entity({ name: 'api_tokens' })
export class ApiTokenEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  id!: string;

  @Column({ type: 'varchar', length: 200 })
  name!: string;

  @Column({ type: 'varchar', length: 16 })
  role!: Role;

  /** For `ingest` tokens: the event owners it may post for; empty = any. */
  @Column({ type: 'text', array: true, default: () => "'{}'" })
  owners!: string[];

  @Column({ name: 'token_hash', type: 'char', length: 64, unique: true })
  tokenHash!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
