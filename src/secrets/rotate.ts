import type { DataSource } from 'typeorm';
import { ConnectionEntity } from '../../entities/connection.entity';
import { SubscriptionEntity } from '../../entities/subscription.entity';
import type { ProviderRegistry } from '../../providers/registry';
import type { SecretBox } from './crypto';
import { reencryptFields } from './fields';

/**
 * Re-encrypts every stored secret (subscription and connection configs) that is not under the current
 * key, one row per transaction. Safe to run while the service runs and to run again.
 */
export async function reencryptAll(ds: DataSource, providers: ProviderRegistry, box: SecretBox) {
  const counts = { subscriptions: 0, connections: 0, skipped: 0 };
  const tables = [
    { entity: SubscriptionEntity, key: 'subscriptions' as const, paths: (p: string) => providers.get(p)?.secretPaths },
    { entity: ConnectionEntity, key: 'connections' as const, paths: (p: string) => providers.get(p)?.connectionSecretPaths },
  ];
  for (const t of tables) {
    const rows = await ds.getRepository(t.entity).find({ select: { id: true, provider: true } });
    for (const { id, provider } of rows) {
      const paths = t.paths(provider);
      // a provider that is not installed: its secret fields are unknown, leave the row as it is
      if (!paths) {
        counts.skipped++;
        continue;
      }
      await ds.transaction(async (tx) => {
        const row = await tx.getRepository(t.entity).findOne({ where: { id }, lock: { mode: 'pessimistic_write' } });
        if (!row) return;
        const { value, changed } = reencryptFields(row.config, paths, box);
        if (!changed) return;
        await tx.getRepository(t.entity).update({ id }, { config: value as never });
        counts[t.key]++;
      });
    }
  }
  return counts;
}
