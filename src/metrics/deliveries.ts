import { Counter, Histogram, type Registry } from 'prom-client';

/** The names of every metric the hub exports (alert rules and the dashboard may use only these). */
export const METRIC_NAMES = {
  attemptDuration: 'integrations_hub_delivery_attempt_duration_seconds',
  deliveries: 'integrations_hub_deliveries_total',
  eventToDelivered: 'integrations_hub_event_to_delivered_seconds',
  openCircuits: 'integrations_hub_open_circuits',
  backlog: 'integrations_hub_delivery_backlog',
  oldestPendingAge: 'integrations_hub_oldest_pending_delivery_age_seconds',
  workersPolling: 'integrations_hub_workers_polling',
  cachedWorkflows: 'integrations_hub_worker_cached_workflows',
  activitiesInFlight: 'integrations_hub_worker_activities_in_flight',
  activationsInFlight: 'integrations_hub_worker_workflow_activations_in_flight',
} as const;

/** The delivery metrics a worker records: attempts (by provider and outcome), ended deliveries and their latency. */
export class DeliveryMetrics {
  private readonly attemptDuration: Histogram<'provider' | 'outcome'>;
  private readonly deliveries: Counter<'provider' | 'outcome'>;
  private readonly eventToDelivered: Histogram<'provider'>;

  constructor(registry: Registry) {
    this.attemptDuration = new Histogram({
      name: METRIC_NAMES.attemptDuration,
      help: 'Duration of one provider call (one delivery attempt), by provider and outcome (success, retryable, permanent)',
      labelNames: ['provider', 'outcome'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    });
    this.deliveries = new Counter({
      name: METRIC_NAMES.deliveries,
      help: 'Deliveries that ended, by provider and outcome (success, failed)',
      labelNames: ['provider', 'outcome'],
      registers: [registry],
    });
    this.eventToDelivered = new Histogram({
      name: METRIC_NAMES.eventToDelivered,
      help: 'Time from the emission being received at ingest to its delivery succeeding, by provider',
      labelNames: ['provider'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 6 * 3600, 24 * 3600],
      registers: [registry],
    });
  }

  /** One provider call finished (durationMs in milliseconds). */
  attempted(provider: string, outcome: 'success' | 'retryable' | 'permanent', durationMs: number): void {
    this.attemptDuration.observe({ provider, outcome }, Math.max(0, durationMs) / 1000);
  }

  /**
   * A logged attempt changed a delivery's state: counts it when it ended, and for a first success
   * observes the seconds since its emission was received.
   */
  written(w: { provider: string; previousStatus: string | null; status: string; secondsSinceReceived: number | null }): void {
    if (w.status !== 'success' && w.status !== 'failed') return;
    if (w.previousStatus === w.status) return;
    this.deliveries.inc({ provider: w.provider, outcome: w.status });
    if (w.status === 'success' && w.previousStatus !== 'success' && w.secondsSinceReceived !== null) {
      this.eventToDelivered.observe({ provider: w.provider }, Math.max(0, w.secondsSinceReceived));
    }
  }
}
