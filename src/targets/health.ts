import crypto from 'node:crypto';
import type { Logger } from '../logger';
import { safeErrorMessage } from '../../providers/shared/sanitise';
import type { AttemptResult, AttemptTrigger, StoredAttempt } from '../../workflows/types';
import { healthOutcomeOf, type Circuits, type Gate } from './circuits';
import { isHubEvent, type HubEvents, type HubEventType } from '../catalogue/hub-events';

/** The delivery an attempt belongs to, as target health needs it. */
export interface AttemptSubject {
  id: string;
  subscriptionId: string;
  subscriptionName?: string;
  provider: string;
  event: string;
  emissionId: string;
  test: boolean;
  /** The subscription's target as last recorded, when known (its update is skipped when unchanged). */
  subscriptionTargetKey?: string | null;
}

/**
 * Target health in the attempt path: the gate before the provider call, the bookkeeping after it, and the
 * hub's own events about what happened. A delivery of a hub event never raises another hub event.
 */
export class TargetHealth {
  constructor(
    private readonly circuits: Circuits,
    private readonly events: HubEvents,
    private readonly logger: Logger,
  ) {}

  /** Whether an attempt goes now. Operators' attempts and test sends pass a closed door (they are asked for). */
  async gate(targetKey: string, trigger: AttemptTrigger, test: boolean): Promise<Gate> {
    if (trigger === 'manual' || test) return { pass: true, probe: false };
    return this.circuits.gate(targetKey);
  }

  /** After an attempt was logged: counts it for its target, then emits the hub events it caused. */
  async after(d: AttemptSubject, result: AttemptResult, stored: StoredAttempt, attempt: number): Promise<void> {
    const quiet = isHubEvent(d.event);
    if (result.target) {
      try {
        const change = await this.circuits.record(result.target, d.provider, d.subscriptionId, healthOutcomeOf(result), d.subscriptionTargetKey);
        if (!quiet) await this.emitChange(result.target, d, change);
      } catch (err) {
        // health is advisory: the attempt is logged, the next one records again
        this.logger.warn({ deliveryId: d.id, err: safeErrorMessage(err) }, 'target health not recorded');
      }
    }
    if (quiet) return;
    if (stored.status === 'failed' && result.outcome === 'retryable') await this.exhausted(d, attempt, result.error, result.target);
    if (result.outcome === 'permanent' && result.pauseReason) {
      await this.emit('hub.subscription.paused', `${d.subscriptionId}:${d.id}`, {
        subscriptionId: d.subscriptionId, subscriptionName: d.subscriptionName, provider: d.provider, event: d.event,
        reason: result.pauseReason, ...(result.target ? { target: result.target } : {}),
      });
    }
  }

  /** `hub.delivery.exhausted` for a delivery that used up its retries (also when the workflow wrote the last attempt). */
  async exhausted(d: AttemptSubject, attempts: number, error: string | undefined, target?: string): Promise<void> {
    if (isHubEvent(d.event)) return;
    await this.emit('hub.delivery.exhausted', `${d.id}:${attempts}`, {
      deliveryId: d.id, subscriptionId: d.subscriptionId, subscriptionName: d.subscriptionName, provider: d.provider,
      event: d.event, emissionId: d.emissionId, attempts, error: error ?? null, ...(target ? { target } : {}), test: d.test,
    });
  }

  private async emitChange(target: string, d: AttemptSubject, change: Awaited<ReturnType<Circuits['record']>>): Promise<void> {
    const at = new Date().toISOString();
    if (change.opened) {
      this.logger.warn({ target, provider: d.provider, failureRate: change.failureRate }, 'target unhealthy: circuit opened');
      await this.emit('hub.target.unhealthy', `${target}:${at}`, { target, provider: d.provider, failureRate: change.failureRate ?? null, openedAt: at });
    }
    if (change.recovered) this.logger.info({ target, provider: d.provider }, 'target recovered: circuit closed');
    if (change.recovered) await this.emit('hub.target.recovered', `${target}:${at}`, { target, provider: d.provider, recoveredAt: at });
    for (const subscriptionId of change.paused) {
      await this.emit('hub.subscription.paused', `${subscriptionId}:${target}:${at}`, {
        subscriptionId, provider: d.provider, target, reason: `The target ${target} has been failing for too long`,
      });
    }
  }

  private emit(event: HubEventType, key: string, payload: Record<string, unknown>): Promise<void> {
    return this.events.emit(event, hubEmissionId(event, key), payload);
  }
}

/** A stable emission id for one hub event (the same key twice is one emission). */
export function hubEmissionId(event: HubEventType, key: string): string {
  return `hub_${crypto.createHash('sha256').update(`${event}\n${key}`).digest('hex').slice(0, 40)}`;
}
