// Reading a delivery workflow's Temporal history in a test: once the run has closed, as searchable text, and
// with the attempts it recorded.
import assert from 'node:assert/strict';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { AttemptReport } from '../../workflows/types';
import { waitFor } from './hub';

type History = temporal.api.history.v1.IHistory;

/**
 * The history of the latest run of `workflowId` once that run has closed (completed, failed, cancelled, ...),
 * waiting up to `timeoutMs`. An attempt runs as a local activity (docs/DESIGN.md decision 15): it writes the log
 * row inside the workflow task, and its marker (with the attempt's result) reaches the history only when that
 * task completes, which can be just after the row says `success`. A history read on the log row's word can miss
 * the last attempt; once the run has closed it holds everything the run recorded.
 */
export async function closedHistory(client: Client, workflowId: string, timeoutMs = 30_000): Promise<History> {
  const handle = client.workflow.getHandle(workflowId);
  await waitFor(async () => (await handle.describe()).status.name !== 'RUNNING', `workflow ${workflowId} to close`, timeoutMs, 100);
  return handle.fetchHistory();
}

/**
 * The history (or histories) as text to search for a secret: protobuf's JSON with every bytes field, payloads
 * above all, decoded as UTF-8 (the JSON the data converter wrote). `JSON.stringify(history)` writes them in
 * base64, where a secret inside an activity's input or result, a marker or a search attribute does not show as
 * itself (nor as its own base64 unless it starts at a multiple of 3 bytes into the payload).
 */
export function historyText(history: History | History[]): string {
  const histories = Array.isArray(history) ? history : [history];
  return histories
    .map((h) => {
      const plain = temporal.api.history.v1.History.toObject(temporal.api.history.v1.History.fromObject(h), { longs: String, enums: String });
      return JSON.stringify(plain, function (this: Record<string, unknown>, key, value) {
        const raw = this[key];
        return raw instanceof Uint8Array ? Buffer.from(raw).toString('utf8') : value;
      });
    })
    .join('\n');
}

/**
 * The attempt reports the history holds, in order: the results of the attempt's local activity markers (V2 since
 * decision 15) and of its completed `deliverAttempt` activity tasks (runs from before it).
 */
export function attemptReports(history: History): AttemptReport[] {
  const events = history.events ?? [];
  const decode = (p: temporal.api.common.v1.IPayload | undefined) => (p?.data ? JSON.parse(Buffer.from(p.data).toString('utf8')) : undefined);
  const activityType = new Map<string, string>();
  const reports: AttemptReport[] = [];
  for (const e of events) {
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (scheduled) activityType.set(String(e.eventId), scheduled.activityType?.name ?? '');
    const completed = e.activityTaskCompletedEventAttributes;
    if (completed && activityType.get(String(completed.scheduledEventId)) === 'deliverAttempt') reports.push(decode(completed.result?.payloads?.[0]));
    const marker = e.markerRecordedEventAttributes;
    if (marker?.markerName === 'core_local_activity' && decode(marker.details?.data?.payloads?.[0])?.activity_type === 'deliverAttempt') {
      const result = decode(marker.details?.result?.payloads?.[0]);
      if (result) reports.push(result);
    }
  }
  return reports;
}

/** A logged attempt, as `GET /deliveries/{id}` shows it in `attemptLog`. */
interface LoggedAttempt {
  outcome: string;
  httpStatus?: number | null;
  errorCode?: string | null;
  error?: string | null;
}

/**
 * Asserts that `history` holds the result of every attempt `delivery` (`GET /deliveries/{id}`) logged, the last
 * one included, with the outcome, HTTP status and error the log shows, and that the last one ended the delivery
 * with its status: a secret check on the history then covers what every attempt returned to the workflow, and
 * cannot pass on a history read before the last marker. One exception: an attempt whose local activity ran again
 * (its workflow task timed out before the result was recorded) found its own mark and returned a lost attempt
 * (`attempt_lost`) while the log keeps what the first run wrote (docs/DESIGN.md decision 15).
 */
export function assertHoldsAttempts(history: History, delivery: { id: string; status: string; attemptLog: LoggedAttempt[] }): void {
  const pick = (r: LoggedAttempt) => ({ outcome: r.outcome, httpStatus: r.httpStatus ?? null, error: r.error ?? null });
  const reports = attemptReports(history).filter((r) => r.kind === 'recorded' || r.kind === 'unrecorded');
  const what = `the history of delivery ${delivery.id} holds each logged attempt's result`;
  assert.ok(delivery.attemptLog.length > 0, `delivery ${delivery.id} logged an attempt`);
  assert.equal(reports.length, delivery.attemptLog.length, `${what}: ${JSON.stringify(reports)}`);
  reports.forEach((r, i) => {
    const ranAgain = r.result.errorCode === 'attempt_lost' && delivery.attemptLog[i].errorCode !== 'attempt_lost';
    if (!ranAgain) assert.deepEqual(pick(r.result), pick(delivery.attemptLog[i]), `${what} (attempt ${i + 1})`);
  });
  const last = reports[reports.length - 1];
  if (last.kind === 'recorded') assert.equal(last.stored.status, delivery.status, `the last attempt in the history of delivery ${delivery.id} ended it`);
}
