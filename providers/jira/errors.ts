import { sanitise } from '../shared/sanitise';
import { outcomeFromResponse } from '../http/outcome';
import type { DeliveryOutcome, OutboundResponse } from '../types';
import { jsonBody } from './client';

/** Longest error text an outcome carries, in characters. */
const ERROR_MAX = 600;
/** Field errors listed in one message; the rest are counted. */
const MAX_LISTED = 8;

/** What the classifier needs to word an error and decide on a pause. */
export interface JiraErrorContext {
  /** What we were doing, for the message: "creating an issue in OPS", "commenting on OPS-12". */
  operation: string;
  /** Set when creating an issue: a 400 naming the project (or a 404) means the project is gone. */
  projectKey?: string;
  /** Which credentials to name when Jira rejects them. */
  flavor: 'cloud' | 'datacenter';
  secrets: string[];
  nowMs?: number;
}

/**
 * Classifies a Jira response on top of the shared mapping (outcomeFromResponse): readable field errors
 * for 400s, pausing on rejected credentials (401) and a missing project, rate limits with Retry-After or
 * else X-RateLimit-Reset, 5xx retryable.
 */
export function classifyJiraResponse(res: OutboundResponse, ctx: JiraErrorContext): DeliveryOutcome {
  const nowMs = ctx.nowMs ?? Date.now();
  const base = outcomeFromResponse(res, { secrets: ctx.secrets, nowMs });
  if (base.kind === 'success') return base;

  const status = res.status;
  const body = jsonBody(res);
  const details = jiraErrorDetails(body) ?? base.error.replace(/^HTTP \d+: /, '');
  const clean = (text: string) => sanitise(text, ctx.secrets, ERROR_MAX);
  const error = clean(`Jira answered ${status} ${ctx.operation}: ${details}`);

  if (status === 401) {
    const what = ctx.flavor === 'cloud' ? 'the email and API token' : 'the personal access token';
    return {
      kind: 'permanent',
      httpStatus: status,
      errorCode: 'jira_unauthorized',
      error,
      pauseReason: `Jira rejected the credentials of the connection (HTTP 401): check ${what}, and that it has not expired or been revoked`,
    };
  }
  if (status === 403 && /AUTHENTICATION_DENIED/i.test(res.headers['x-seraph-loginreason'] ?? '')) {
    return {
      kind: 'permanent',
      httpStatus: status,
      errorCode: 'jira_captcha',
      error,
      pauseReason: 'Jira requires a CAPTCHA for this account after failed logins: sign in once in a browser, then resume the subscription',
    };
  }
  if (status === 403) {
    return { kind: 'permanent', httpStatus: status, errorCode: 'jira_forbidden', error: clean(`${error} (the account lacks permission)`) };
  }
  if (status === 400) {
    const projectError = ctx.projectKey ? fieldErrors(body).project : undefined;
    if (projectError) {
      return {
        kind: 'permanent',
        httpStatus: status,
        errorCode: 'jira_project_missing',
        error,
        pauseReason: clean(`Jira project ${ctx.projectKey} does not exist or the account cannot see it (${projectError})`),
      };
    }
    return { kind: 'permanent', httpStatus: status, errorCode: 'jira_rejected', error };
  }
  if (status === 404 && ctx.projectKey) {
    return {
      kind: 'permanent',
      httpStatus: status,
      errorCode: 'jira_not_found',
      error,
      pauseReason: clean(`Jira answered 404 ${ctx.operation}: the project or the site's base URL does not exist`),
    };
  }
  if (status === 429) {
    const retryAfterMs = base.kind === 'retryable' ? (base.retryAfterMs ?? rateLimitResetMs(res.headers['x-ratelimit-reset'], nowMs)) : undefined;
    const reason = res.headers['ratelimit-reason'];
    return {
      kind: 'retryable',
      httpStatus: status,
      errorCode: 'jira_rate_limited',
      error: clean(`Jira rate limit reached ${ctx.operation}${reason ? ` (${reason})` : ''}: ${details}`),
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    };
  }
  return { ...base, error };
}

/**
 * Jira's ErrorCollection as one line: `errorMessages` then `field: message` pairs, e.g.
 * "priority: The priority selected is invalid.". Undefined when the body is not one.
 */
export function jiraErrorDetails(body: unknown): string | undefined {
  if (!isObject(body)) return undefined;
  const messages = Array.isArray(body.errorMessages) ? body.errorMessages.filter((m): m is string => typeof m === 'string' && !!m.trim()) : [];
  const fields = Object.entries(fieldErrors(body)).map(([field, message]) => `${field}: ${message}`);
  const all = [...messages.map((m) => m.trim()), ...fields];
  if (all.length === 0) return typeof body.message === 'string' && body.message.trim() ? body.message.trim() : undefined;
  const listed = all.slice(0, MAX_LISTED).join('; ');
  return all.length > MAX_LISTED ? `${listed}; and ${all.length - MAX_LISTED} more` : listed;
}

/** The `errors` map of an ErrorCollection (field id -> message), strings only. */
export function fieldErrors(body: unknown): Record<string, string> {
  if (!isObject(body) || !isObject(body.errors)) return {};
  const out: Record<string, string> = {};
  for (const [field, message] of Object.entries(body.errors)) {
    if (typeof message === 'string' && message.trim()) out[field] = message.trim();
  }
  return out;
}

/** Milliseconds until an X-RateLimit-Reset time (ISO-8601, e.g. 2026-03-05T14:30Z); undefined if absent or past. */
export function rateLimitResetMs(value: string | undefined, nowMs: number): number | undefined {
  const text = value?.trim();
  if (!text || !/^\d{4}-\d{2}-\d{2}T/.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) || at <= nowMs ? undefined : at - nowMs;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
