import { sanitise } from '../shared/sanitise';
import { outcomeFromResponse } from '../http/outcome';
import type { DeliveryOutcome, OutboundResponse } from '../types';

export const PAUSE_REASONS = {
  unauthorized:
    'Opsgenie rejected the API key (HTTP 401). Put the key of an Opsgenie "API" integration (and the right region) in the subscription, then enable it again.',
  forbidden:
    'Opsgenie refused the request (HTTP 403): the integration may not create or update alerts (it is read-only or disabled). Fix the integration, then enable the subscription again.',
  plan: 'Opsgenie refused the request (HTTP 402): the account\'s plan does not allow it. Change the plan, then enable the subscription again.',
} as const;

/** `{result|message, took, requestId}`, Opsgenie's answer body. */
export function parseOpsgenieAnswer(body: string): { message?: string; requestId?: string } {
  try {
    const o: unknown = JSON.parse(body);
    if (!o || typeof o !== 'object') return {};
    const r = o as Record<string, unknown>;
    const message = typeof r.message === 'string' && r.message ? r.message : typeof r.result === 'string' && r.result ? r.result : undefined;
    const requestId = typeof r.requestId === 'string' && r.requestId ? r.requestId : undefined;
    return { ...(message ? { message } : {}), ...(requestId ? { requestId } : {}) };
  } catch {
    return {};
  }
}

/**
 * Classifies an Opsgenie answer. 2xx (202: accepted, processed asynchronously) is a success with the alias
 * as external id and the requestId in the attempt's log; 429 and 5xx retryable (Retry-After, else
 * X-RateLimit-Period-In-Sec as the wait); 401, 402, 403 permanent and pausing; other 4xx permanent.
 */
export function classifyOpsgenieResponse(res: OutboundResponse, alias: string, action: string, secrets: Iterable<string>): DeliveryOutcome {
  const outcome = outcomeFromResponse(res, { secrets });
  const answer = parseOpsgenieAnswer(res.body);
  if (outcome.kind === 'success') {
    const log = `Opsgenie accepted ${action} of alert ${alias}${answer.requestId ? ` (requestId ${answer.requestId})` : ''}`;
    return { ...outcome, externalId: alias, log };
  }
  const error = answer.message
    ? sanitise(`HTTP ${res.status} from Opsgenie: ${answer.message}${answer.requestId ? ` (requestId ${answer.requestId})` : ''}`, secrets, 400)
    : outcome.error;
  if (outcome.kind === 'retryable') {
    const period = Number(res.headers['x-ratelimit-period-in-sec']);
    const hint = outcome.retryAfterMs === undefined && res.status === 429 && Number.isFinite(period) && period > 0 ? { retryAfterMs: period * 1000 } : {};
    return { ...outcome, error, ...hint };
  }
  switch (res.status) {
    case 401:
      return { ...outcome, error, errorCode: 'opsgenie_unauthorized', pauseReason: PAUSE_REASONS.unauthorized };
    case 402:
      return { ...outcome, error, errorCode: 'opsgenie_plan', pauseReason: PAUSE_REASONS.plan };
    case 403:
      return { ...outcome, error, errorCode: 'opsgenie_forbidden', pauseReason: PAUSE_REASONS.forbidden };
    default:
      return { ...outcome, error };
  }
}
