import type { GuardedHttpClient } from '../types';

/** Waits between looks at an accepted request: Opsgenie usually processes one within a second. */
const STATUS_POLL_DELAYS_MS = [150, 350, 750];

/** What Opsgenie made of an accepted (202) request, or `pending` when it has not said yet. */
export type RequestStatus =
  | { state: 'done'; alertId?: string; status?: string }
  | { state: 'failed'; status: string }
  | { state: 'pending' };

/** Reads `GET /v2/alerts/requests/{id}` answers: `{data: {isSuccess|success, status, alertId}}`. */
export function parseRequestStatus(httpStatus: number, body: string): RequestStatus {
  if (httpStatus === 404 || httpStatus < 200 || httpStatus >= 300) return { state: 'pending' };
  let data: Record<string, unknown> = {};
  try {
    const o: unknown = JSON.parse(body);
    const d = o && typeof o === 'object' ? (o as Record<string, unknown>).data : undefined;
    if (d && typeof d === 'object') data = d as Record<string, unknown>;
  } catch {
    return { state: 'pending' };
  }
  const ok = typeof data.isSuccess === 'boolean' ? data.isSuccess : data.success;
  const status = typeof data.status === 'string' ? data.status.slice(0, 300) : undefined;
  if (ok === false) return { state: 'failed', status: status ?? 'the request failed' };
  if (ok !== true) return { state: 'pending' };
  return { state: 'done', ...(typeof data.alertId === 'string' ? { alertId: data.alertId } : {}), ...(status ? { status } : {}) };
}

/**
 * Follows an accepted request for a short, bounded time (provider-apis.md: alert requests are processed
 * asynchronously; poll `GET /v2/alerts/requests/{requestId}`). Transport errors and answers that say
 * nothing yet leave it `pending`; the delivery is not failed for them.
 */
export async function followRequest(
  http: GuardedHttpClient,
  base: string,
  apiKey: string,
  requestId: string,
  delaysMs: readonly number[] = STATUS_POLL_DELAYS_MS,
): Promise<RequestStatus> {
  for (const delay of delaysMs) {
    await new Promise((resolve) => setTimeout(resolve, delay));
    try {
      const res = await http.request({
        method: 'GET',
        url: `${base}/v2/alerts/requests/${encodeURIComponent(requestId)}`,
        headers: { authorization: `GenieKey ${apiKey}`, accept: 'application/json' },
      });
      const status = parseRequestStatus(res.status, res.body);
      if (status.state !== 'pending') return status;
    } catch {
      // unreachable for a moment: the request itself was accepted, so this is no verdict on it
    }
  }
  return { state: 'pending' };
}
