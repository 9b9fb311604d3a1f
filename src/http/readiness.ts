import type { Config } from '../config';
import { oldestPendingAgeSeconds, type Queryable } from '../metrics/backlog';
import { freshPollers, type PollerSource } from '../temporal/pollers';
import { databaseCheck, pendingAgeCheck, temporalCheck, workersCheck, type ReadinessCheck } from './health';

/**
 * The API's readiness checks (`/readyz`, docs/operations.md "Readiness and a worker that cannot work"): PostgreSQL and Temporal
 * answer, a worker polls the delivery task queue, and no pending delivery is older than READINESS_MAX_PENDING_AGE_S.
 * `pollers` counts the workers per task queue, for the `integrations_hub_workers_polling` gauge.
 */
export function hubReadiness(opts: {
  config: Config;
  db: Queryable;
  connection: PollerSource & Parameters<typeof temporalCheck>[0];
}): { checks: Record<string, ReadinessCheck>; pollers: Record<string, () => Promise<number>> } {
  const { config, db, connection } = opts;
  const delivery = () => freshPollers(connection, config.temporal.namespace, config.temporal.taskQueue, config.readiness.pollerMaxAgeMs);
  return {
    checks: {
      database: databaseCheck(db),
      temporal: temporalCheck(connection),
      workers: workersCheck(delivery),
      pendingAge: pendingAgeCheck(() => oldestPendingAgeSeconds(db), config.readiness.maxPendingAgeMs),
    },
    pollers: { [config.temporal.taskQueue]: delivery },
  };
}
