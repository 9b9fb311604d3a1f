import type { Connection } from '@temporalio/client';

/** What a poller look needs of a Temporal connection (the client's Connection fits). */
export interface PollerSource {
  withDeadline<T>(deadline: number, fn: () => Promise<T>): Promise<T>;
  workflowService: Pick<Connection['workflowService'], 'describeTaskQueue'>;
}

/** How long one DescribeTaskQueue may take (ms). */
const DESCRIBE_DEADLINE_MS = 2_000;

/**
 * The workers polling `taskQueue` now: identities with a workflow and an activity poll that reached Temporal
 * within `maxAgeMs`. Temporal lists a poller with the time its last poll arrived; an idle poller's long poll
 * stays open until the server's `matching.longPollExpirationInterval` (60 s by default, 15 s on the dev server
 * and in docker-compose) and then polls again at once, so `maxAgeMs` must be above that interval.
 */
export async function freshPollers(connection: PollerSource, namespace: string, taskQueue: string, maxAgeMs: number): Promise<number> {
  const now = Date.now();
  const fresh = async (taskQueueType: 1 | 2): Promise<Set<string>> => {
    const res = await connection.withDeadline(now + DESCRIBE_DEADLINE_MS, () =>
      connection.workflowService.describeTaskQueue({ namespace, taskQueue: { name: taskQueue, kind: 1 }, taskQueueType }),
    );
    const ids = new Set<string>();
    for (const p of res.pollers ?? []) {
      const t = p.lastAccessTime;
      const at = t ? Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6) : 0;
      if (p.identity && now - at <= maxAgeMs) ids.add(p.identity);
    }
    return ids;
  };
  // 1: workflow task pollers, 2: activity task pollers (TaskQueueType)
  const [workflow, activity] = await Promise.all([fresh(1), fresh(2)]);
  return [...workflow].filter((id) => activity.has(id)).length;
}
