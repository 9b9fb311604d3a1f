import type { RegisteredProvider } from '../../providers/registry';
import type { GuardedHttpClient, OutboundRequest } from '../../providers/types';
import type { EventTypeDefinition } from '../catalogue/types';
import { HttpProblem } from '../http/problem';
import { sanitise } from '../../providers/shared/sanitise';
import { secretValues } from '../secrets/fields';

/** One request the provider would send, with every secret replaced. */
export interface PreviewRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
}

/**
 * Built-in providers whose deliver() only talks HTTP through ctx.http, so it can run in the API process against a
 * recording client. Not the shell provider (it runs commands), the script provider (it runs admin code, on the
 * workers only) or plugins (their code is trusted on the workers, not here).
 */
const PREVIEWABLE = new Set(['webhook', 'slack', 'teams', 'webex', 'telegram', 'jira', 'pagerduty', 'opsgenie', 'discord', 'google-chat']);
const MAX_REQUESTS = 5;
const MAX_BODY = 64 * 1024;
const SECRET_HEADERS = /^(authorization|proxy-authorization|cookie|x-api-key|api-key)$/i;

/**
 * What a subscription would send for the event type's example, without sending anything: the provider's own
 * deliver() runs with an HTTP client that records each request and answers 200 `{"ok":true}`. Secrets (known
 * values of the config and connection, credential headers, token-bearing URL parts) are replaced.
 */
export async function previewRequests(
  provider: RegisteredProvider,
  eventType: EventTypeDefinition,
  subscriptionName: string,
  config: Record<string, unknown>,
  connection?: Record<string, unknown>,
): Promise<PreviewRequest[]> {
  const id = provider.definition.id;
  if (provider.source !== 'builtin' || !PREVIEWABLE.has(id)) {
    throw new HttpProblem(422, 'Unprocessable Content', `Provider ${id} cannot be previewed; use Test send after saving`, [
      { path: 'provider', message: 'has no preview (it runs code only the workers run)' },
    ]);
  }
  const known = [...secretValues(config, provider.secretPaths), ...(connection ? secretValues(connection, provider.connectionSecretPaths) : [])];
  const requests: PreviewRequest[] = [];
  const http: GuardedHttpClient = {
    async request(req: OutboundRequest) {
      if (requests.length < MAX_REQUESTS) requests.push(redacted(req, known));
      return { status: 200, headers: { 'content-type': 'application/json' }, body: '{"ok":true}', durationMs: 0 };
    },
  };
  const payload = eventType.example ?? {};
  const subjectValue = eventType.subjectKey ? payload[eventType.subjectKey] : undefined;
  const systemIds = Array.isArray(payload.systemIds) ? payload.systemIds.map(String) : typeof payload.systemId === 'string' ? [payload.systemId] : [];
  try {
    await provider.definition.deliver({
      deliveryId: 'dlv_preview',
      attempt: 1,
      event: {
        id: 'evt_preview', type: eventType.id, displayName: eventType.displayName, occurredAt: new Date().toISOString(), systemIds, payload,
        subject: subjectValue === undefined ? undefined : String(subjectValue), resolves: eventType.resolves ?? false,
      },
      subscription: { id: 'sub_preview', name: subscriptionName },
      config,
      connection,
      test: true,
      redelivery: false,
      http,
    });
  } catch {
    // the simulated answer need not satisfy the provider: what it would have sent is recorded already
  }
  return requests;
}

function redacted(req: OutboundRequest, known: string[]): PreviewRequest {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers ?? {})) headers[k] = SECRET_HEADERS.test(k) ? '[redacted]' : sanitise(v, known, 4096);
  const body = req.body === undefined ? undefined : sanitise(Buffer.isBuffer(req.body) ? req.body.toString('utf8') : req.body, known, MAX_BODY);
  return { method: req.method, url: sanitise(req.url, known, 4096), headers, ...(body !== undefined ? { body } : {}) };
}
