import { Router } from 'express';
import type { Registry } from 'prom-client';

/** A readiness probe: resolves when the dependency answers, rejects otherwise. */
export type ReadinessCheck = () => Promise<void>;

const CHECK_TIMEOUT_MS = 2000;

/** A dependency that answers but is not fit to serve: its message (no secrets) is shown by `/readyz`. */
class NotReadyError extends Error {}

/** `/healthz` (process up), `/readyz` (every dependency answers), `/metrics` (Prometheus). */
export function healthRouter(checks: Record<string, ReadinessCheck>, registry: Registry): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const results = await Promise.all(
      Object.entries(checks).map(async ([name, check]) => {
        try {
          await withTimeout(check(), CHECK_TIMEOUT_MS);
          return [name, { ok: true }] as const;
        } catch (err) {
          // a readiness answer names what is down, never how (no connection strings)
          const error = err instanceof TimeoutError ? 'timed out' : err instanceof NotReadyError ? err.message : 'unreachable';
          return [name, { ok: false, error }] as const;
        }
      }),
    );
    const ready = results.every(([, r]) => r.ok);
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', checks: Object.fromEntries(results) });
  });
  router.get('/metrics', async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  });
  return router;
}

class TimeoutError extends Error {}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError()), ms);
    }),
  ]);
}

/** Ready when PostgreSQL answers a trivial query. */
export function databaseCheck(dataSource: { query(sql: string): Promise<unknown> }): ReadinessCheck {
  return async () => {
    await dataSource.query('SELECT 1');
  };
}

/** Ready when the Temporal frontend answers. */
export function temporalCheck(connection: {
  withDeadline<T>(deadline: number, fn: () => Promise<T>): Promise<T>;
  workflowService: { getSystemInfo(req: object): Promise<unknown> };
}): ReadinessCheck {
  return async () => {
    await connection.withDeadline(Date.now() + CHECK_TIMEOUT_MS, () => connection.workflowService.getSystemInfo({}));
  };
}

/**
 * Ready when at least one worker polls the delivery task queue (workflow and activity polls, each arrived
 * within `maxPollerAgeMs`; see freshPollers for why the age must exceed Temporal's long-poll interval).
 */
export function workersCheck(pollers: () => Promise<number>): ReadinessCheck {
  return async () => {
    if ((await pollers()) === 0) throw new NotReadyError('no worker polls the delivery task queue');
  };
}

/** Ready while the oldest delivery not attempted yet (`pending`, its age in seconds from `oldestPendingAgeS`) is at most `maxAgeMs` old. */
export function pendingAgeCheck(oldestPendingAgeS: () => Promise<number>, maxAgeMs: number): ReadinessCheck {
  return async () => {
    const age = await oldestPendingAgeS();
    if (age * 1000 > maxAgeMs) throw new NotReadyError(`the oldest pending delivery is ${Math.round(age)} s old (limit ${Math.round(maxAgeMs / 1000)} s)`);
  };
}
