import type { Logger } from '../logger';
import { safeErrorMessage } from '../../providers/shared/sanitise';
import { storableJson } from '../../providers/shared/storable';

/** The hub's own catalogue events (src/catalogue/builtin.ts, owner `hub`). */
export type HubEventType =
  | 'hub.delivery.exhausted'
  | 'hub.subscription.paused'
  | 'hub.subscription.resumed'
  | 'hub.target.unhealthy'
  | 'hub.target.recovered';

/** True for an event the hub emits about itself: a delivery of one never causes another (no loops). */
export function isHubEvent(event: string): boolean {
  return event.startsWith('hub.');
}

/** Sends one hub event through the hub's own ingest; `id` makes a repeat (activity retry) a no-op. */
export type IngestHubEvent = (req: { event: HubEventType; id: string; payload: Record<string, unknown> }) => Promise<unknown>;

/**
 * The hub's events as the activities raise them. Emitting never fails the caller: a delivery's attempt
 * is recorded whatever happens to the event about it (a lost hub event is logged).
 */
export class HubEvents {
  constructor(
    private readonly ingest: IngestHubEvent,
    private readonly logger: Logger,
  ) {}

  async emit(event: HubEventType, id: string, payload: Record<string, unknown>): Promise<void> {
    try {
      // the payload quotes what receivers answered (errors): storable, or the event would be refused with it
      const storable = storableJson({ ...payload, occurredAt: new Date().toISOString() }) as Record<string, unknown>;
      await this.ingest({ event, id, payload: storable });
    } catch (err) {
      // field problems name paths and rules, never values
      const problems = (err as { errors?: unknown }).errors;
      this.logger.warn({ event, id, err: safeErrorMessage(err), ...(problems ? { problems } : {}) }, 'hub event not emitted');
    }
  }
}
