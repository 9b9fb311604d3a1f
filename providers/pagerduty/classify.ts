import { sanitise } from '../shared/sanitise';
import { outcomeFromResponse } from '../http/outcome';
import type { DeliveryOutcome, OutboundResponse } from '../types';

/** Why a subscription is paused when PagerDuty refuses its integration key. */
const ROUTING_KEY_PAUSE =
  'PagerDuty refused the integration (routing) key: the integration was deleted or the key is wrong. ' +
  'Put the Events API v2 integration key of the service in routingKey, then enable the subscription again.';

/** `{status, message, errors: [...]}`, PagerDuty's answer for 202 and 400. */
export interface PagerdutyAnswer {
  status?: string;
  message?: string;
  errors: string[];
  dedup_key?: string;
}

function parsePagerdutyAnswer(body: string): PagerdutyAnswer {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    parsed = undefined;
  }
  const o = parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
  const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
  return {
    status: str(o.status),
    message: str(o.message),
    errors: Array.isArray(o.errors) ? o.errors.filter((e): e is string => typeof e === 'string') : [],
    dedup_key: str(o.dedup_key),
  };
}

/**
 * Classifies an Events API answer: 2xx success with the dedup_key as external id; 429 and 5xx retryable
 * (429 has no Retry-After, the retry policy backs off); 400 permanent, and pausing when PagerDuty names the
 * routing key (it is wrong for every event); other 4xx permanent.
 */
export function classifyPagerdutyResponse(res: OutboundResponse, dedupKey: string, secrets: Iterable<string>): DeliveryOutcome {
  const outcome = outcomeFromResponse(res, { secrets });
  const answer = parsePagerdutyAnswer(res.body);
  if (outcome.kind === 'success') return { ...outcome, externalId: answer.dedup_key ?? dedupKey };
  const said = [answer.message, ...answer.errors].filter(Boolean).join('; ');
  const error = said ? sanitise(`HTTP ${res.status} from PagerDuty: ${said}`, secrets, 400) : outcome.error;
  if (outcome.kind === 'retryable') return { ...outcome, error, ...(res.status === 429 ? { errorCode: 'pagerduty_throttled' } : {}) };
  if (res.status === 400 && answer.errors.some((e) => /routing[_ ]key|integration key/i.test(e))) {
    return { ...outcome, error, errorCode: 'pagerduty_routing_key', pauseReason: ROUTING_KEY_PAUSE };
  }
  return { ...outcome, error, ...(res.status === 400 ? { errorCode: 'pagerduty_invalid_event' } : {}) };
}
