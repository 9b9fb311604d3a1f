import { Gauge, type Registry } from 'prom-client';
import { METRIC_NAMES } from './deliveries';

/**
 * Registers `integrations_hub_workers_polling{task_queue}`: the workers polling each named task queue, asked of
 * Temporal at scrape time (`pollers` per queue, e.g. freshPollers). A failed look leaves that queue unset.
 */
export function registerPollerGauge(registry: Registry, queues: Record<string, () => Promise<number>>): void {
  new Gauge({
    name: METRIC_NAMES.workersPolling,
    help: 'Workers polling the task queue now (workflow and activity polls seen within the readiness age), by task queue',
    labelNames: ['task_queue'],
    registers: [registry],
    async collect() {
      this.reset();
      await Promise.all(
        Object.entries(queues).map(async ([name, pollers]) => {
          const n = await pollers().catch(() => undefined);
          if (n !== undefined) this.set({ task_queue: name }, n);
        }),
      );
    },
  });
}
