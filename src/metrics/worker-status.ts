import { Gauge, type Registry } from 'prom-client';
import { METRIC_NAMES } from './deliveries';

/** What the Temporal SDK tells of one Worker (its `getStatus()`), the fields these gauges read. */
export interface WorkerStatusSource {
  getStatus(): { numCachedWorkflows: number; numInFlightActivities: number; numInFlightWorkflowActivations: number };
}

/**
 * Registers the gauges of the worker process's Temporal Workers, read at scrape time, labelled by task queue:
 * workflows held in the cache, activities running (the activity slots in use) and workflow activations in flight
 * (the workflow task slots in use). What shows a worker saturated (activities at WORKER_MAX_CONCURRENT_ACTIVITIES)
 * or its cache at WORKER_MAX_CACHED_WORKFLOWS.
 */
export function registerWorkerStatusGauges(registry: Registry, workers: Record<string, WorkerStatusSource>): void {
  const gauge = (name: string, help: string, read: (s: ReturnType<WorkerStatusSource['getStatus']>) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['task_queue'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [queue, worker] of Object.entries(workers)) this.set({ task_queue: queue }, read(worker.getStatus()));
      },
    });
  gauge(METRIC_NAMES.cachedWorkflows, 'Workflows the Worker holds in its cache, by task queue', (s) => s.numCachedWorkflows);
  gauge(METRIC_NAMES.activitiesInFlight, 'Activities running now (activity slots in use), by task queue', (s) => s.numInFlightActivities);
  gauge(METRIC_NAMES.activationsInFlight, 'Workflow activations in flight (workflow task slots in use), by task queue', (s) => s.numInFlightWorkflowActivations);
}
