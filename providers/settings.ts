import type { DataSource } from 'typeorm';
import { ProviderSettingEntity } from '../entities/provider-setting.entity';

/** How long the API trusts what it read before reading the switches again (ms). */
const DEFAULT_CACHE_TTL_MS = 2_000;

/**
 * Which providers an admin has disabled, kept in PostgreSQL so every API and worker process
 * sees the same switch within a couple of seconds.
 */
export class ProviderSettings {
  private cache?: { at: number; disabled: Set<string> };

  /** `cacheTtlMs` 0 reads every time. (The worker reads the switch with each delivery it loads: activities/index.ts.) */
  constructor(
    private readonly dataSource: DataSource,
    private readonly cacheTtlMs = DEFAULT_CACHE_TTL_MS,
  ) {}

  async isEnabled(id: string): Promise<boolean> {
    if (this.cacheTtlMs === 0) {
      const row = await this.dataSource.getRepository(ProviderSettingEntity).findOneBy({ id });
      return row?.enabled ?? true;
    }
    return !(await this.disabled()).has(id);
  }

  async disabled(): Promise<Set<string>> {
    if (this.cache && Date.now() - this.cache.at < this.cacheTtlMs) return this.cache.disabled;
    const rows = await this.dataSource.getRepository(ProviderSettingEntity).findBy({ enabled: false });
    this.cache = { at: Date.now(), disabled: new Set(rows.map((r) => r.id)) };
    return this.cache.disabled;
  }

  async setEnabled(id: string, enabled: boolean): Promise<void> {
    await this.dataSource.getRepository(ProviderSettingEntity).save({ id, enabled });
    this.cache = undefined;
  }
}
