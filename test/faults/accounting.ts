import type { Hit } from './ledger';
import type { Post } from './load';

/** A delivery as the log (`GET /deliveries`) shows it. */
export interface LogRow {
  id: string;
  emissionId: string;
  status: 'pending' | 'retrying' | 'success' | 'failed';
  attempts: number;
}

/** When a fault was in effect: a duplicate is excused only if its first copy arrived inside one. */
export interface FaultWindow {
  name: string;
  from: number;
  to: number;
}

/** One scenario's books. */
export interface Tally {
  posted: number;
  /** Answered 2xx on the first try. */
  acceptedFirstTry: number;
  /** Answered 503/429/no answer first, then 2xx to a client retry with the same id. */
  acceptedOnRetry: number;
  /** Of those, answered 200 (already stored): the first try had committed although it got no 2xx. */
  storedBeforeRetry: number;
  /** First-try statuses, e.g. `{202: 290, 503: 10}`. */
  statuses: Record<string, number>;
  /** Deliveries that must happen: those named in 2xx answers, plus any committed row of the scenario. */
  expected: number;
  /** Expected deliveries seen by the receiver (a 2xx answer) and `success` in the log. */
  delivered: number;
  /** Accepted (2xx) events whose delivery never completed: must be 0. */
  lost: string[];
  /** Committed rows (not necessarily acknowledged) not delivered: must be 0 as well. */
  missing: string[];
  /** Extra 2xx-answered requests beyond the first per delivery id. */
  duplicates: number;
  duplicatedDeliveries: number;
  /** Duplicates whose first copy arrived outside every fault window. */
  duplicatesOutsideFaults: string[];
  /** Events whose requests carried a webhook-id other than their delivery id (or more than one). */
  idMismatches: string[];
  /** Accepted events whose 2xx answer did not name exactly one delivery, or named another than the log. */
  answerMismatches: string[];
  requests: number;
  failedInLog: number;
}

/** Balances what the ingest client was told, what the log says, and what the receiver got. */
export function tally(posts: Post[], rows: LogRow[], hits: Hit[], windows: FaultWindow[]): Tally {
  const statuses: Record<string, number> = {};
  for (const p of posts) statuses[String(p.status)] = (statuses[String(p.status)] ?? 0) + 1;
  const is2xx = (s: unknown) => typeof s === 'number' && s >= 200 && s < 300;
  const acceptedFirstTry = posts.filter((p) => is2xx(p.status));
  const acceptedOnRetry = posts.filter((p) => !is2xx(p.status) && p.retries.some(is2xx));
  const accepted = [...acceptedFirstTry, ...acceptedOnRetry];

  const rowByEmission = new Map(rows.map((r) => [r.emissionId, r]));
  const answerMismatches = accepted
    .filter((p) => p.deliveryIds.length !== 1 || rowByEmission.get(p.id)?.id !== p.deliveryIds[0])
    .map((p) => p.id);

  const acceptedIds = new Set(accepted.flatMap((p) => p.deliveryIds));
  const expected = new Set([...acceptedIds, ...rows.map((r) => r.id)]);
  const success = new Set(rows.filter((r) => r.status === 'success').map((r) => r.id));
  const ok = new Map<string, Hit[]>();
  for (const h of hits) {
    if (h.status >= 300) continue;
    const list = ok.get(h.webhookId) ?? [];
    list.push(h);
    ok.set(h.webhookId, list);
  }
  const done = (id: string) => success.has(id) && ok.has(id);

  let duplicates = 0;
  const duplicatesOutsideFaults: string[] = [];
  let duplicatedDeliveries = 0;
  for (const [id, list] of ok) {
    if (list.length < 2) continue;
    duplicatedDeliveries++;
    duplicates += list.length - 1;
    const first = Math.min(...list.map((h) => h.at));
    if (!windows.some((w) => first >= w.from && first <= w.to)) duplicatesOutsideFaults.push(id);
  }

  // every request about an event must carry that event's one delivery id, so the receiver can drop repeats
  const idsByEvent = new Map<string, Set<string>>();
  for (const h of hits) {
    const set = idsByEvent.get(h.eventId) ?? new Set<string>();
    set.add(h.webhookId);
    idsByEvent.set(h.eventId, set);
  }
  const idMismatches = [...idsByEvent]
    .filter(([eventId, ids]) => ids.size !== 1 || rowByEmission.get(eventId)?.id !== [...ids][0])
    .map(([eventId]) => eventId);

  return {
    posted: posts.length,
    acceptedFirstTry: acceptedFirstTry.length,
    acceptedOnRetry: acceptedOnRetry.length,
    storedBeforeRetry: acceptedOnRetry.filter((p) => p.retries.includes(200)).length,
    statuses,
    expected: expected.size,
    delivered: [...expected].filter(done).length,
    lost: [...acceptedIds].filter((id) => !done(id)),
    missing: [...expected].filter((id) => !done(id)),
    duplicates,
    duplicatedDeliveries,
    duplicatesOutsideFaults,
    idMismatches,
    answerMismatches,
    requests: hits.length,
    failedInLog: rows.filter((r) => r.status === 'failed').length,
  };
}

/** One line of numbers to quote. */
export function formatTally(n: number, name: string, t: Tally, extra: Record<string, number | string>): string {
  const first = (s: string) => t.statuses[s] ?? 0;
  const noAnswer = first('network') + first('timeout');
  const parts = [
    `posted ${t.posted}`,
    `accepted ${t.acceptedFirstTry + t.acceptedOnRetry} (first try ${t.acceptedFirstTry}, on client retry ${t.acceptedOnRetry} of which already stored ${t.storedBeforeRetry})`,
    `first-try 503 ${first('503')}, 429 ${first('429')}, no answer ${noAnswer}, 500 ${first('500')}`,
    `delivered ${t.delivered}/${t.expected}`,
    `lost ${t.lost.length}`,
    `duplicates ${t.duplicates} (${t.duplicatedDeliveries} ${t.duplicatedDeliveries === 1 ? 'delivery' : 'deliveries'}, same webhook-id: ${t.idMismatches.length === 0 ? 'yes' : 'NO'})`,
    `receiver requests ${t.requests}`,
    ...Object.entries(extra).map(([k, v]) => `${k} ${v}`),
  ];
  return `[faults] ${n}. ${name.padEnd(22)} | ${parts.join(' | ')}`;
}
