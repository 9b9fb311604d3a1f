import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api } from '../api/client';
import { messageOf, unwrap } from '../api/problem';
import { Confirm } from '../components/dialog';
import { useCan } from '../lib/session';
import type { LogSearch } from './deliveries';

/** Bulk recover: redeliver the failed deliveries of the filtered range, after showing how many that is. */
export function RecoverButton({ search }: { search: LogSearch }) {
  const can = useCan();
  const qc = useQueryClient();
  const [count, setCount] = useState<number | undefined>();
  const [done, setDone] = useState<string | undefined>();
  const body = {
    status: 'failed' as const,
    since: search.since ?? new Date(Date.now() - 24 * 3_600_000).toISOString(),
    ...(search.until ? { until: search.until } : {}),
    ...(search.subscriptionId ? { subscriptionId: search.subscriptionId } : {}),
    ...(search.event ? { event: search.event } : {}),
  };
  const dry = useMutation({
    mutationFn: async () => unwrap(await api.POST('/deliveries/recover', { body: { ...body, dryRun: true } })).count,
    onSuccess: setCount,
  });
  const run = useMutation({
    mutationFn: async () => unwrap(await api.POST('/deliveries/recover', { body })).count,
    onSuccess: (n) => {
      setCount(undefined);
      setDone(`Redelivery started for ${n} deliveries.`);
      qc.invalidateQueries({ queryKey: ['deliveries'] });
    },
  });
  if (!can.write) return null;
  return (
    <>
      <button type="button" onClick={() => { setDone(undefined); dry.mutate(); }} disabled={dry.isPending}>
        Recover failed…
      </button>
      {(done || dry.error || run.error) && (
        <span role="status" className={dry.error || run.error ? 'field-error' : 'ok'}>
          {done ?? messageOf(dry.error ?? run.error)}
        </span>
      )}
      <Confirm
        open={count !== undefined}
        title="Recover failed deliveries"
        confirmLabel={`Redeliver ${count ?? 0}`}
        busy={run.isPending || count === 0}
        onClose={() => setCount(undefined)}
        onConfirm={() => run.mutate()}
      >
        <p data-testid="recover-count">
          {count} failed deliveries since {new Date(body.since).toLocaleString()}
          {search.subscriptionId || search.event ? ' matching the subscription/event filter' : ''} will be sent again.
        </p>
      </Confirm>
    </>
  );
}
