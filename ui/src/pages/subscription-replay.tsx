import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { api } from '../api/client';
import { messageOf, unwrap } from '../api/problem';
import type { Subscription } from '../api/types';
import { Confirm } from '../components/dialog';
import { fromLocalInput, toLocalInput } from '../lib/format';

/**
 * Replay: sends a subscription the events it missed since a time (while disabled, paused or not yet created),
 * then shows the background replay's progress. Events it already has a delivery of are not sent again.
 */
export function ReplayButton({ s }: { s: Subscription }) {
  const qc = useQueryClient();
  const [open, setOpen] = useState(false);
  const [since, setSince] = useState(() => new Date(Date.now() - 24 * 3_600_000).toISOString());
  const [replayId, setReplayId] = useState<string | undefined>();
  const run = useMutation({
    mutationFn: async () => unwrap(await api.POST('/subscriptions/{id}/replay', { params: { path: { id: s.id } }, body: { since } })),
    onSuccess: (r) => {
      setOpen(false);
      setReplayId(r.id);
    },
  });
  const progress = useQuery({
    queryKey: ['replay', s.id, replayId],
    enabled: replayId !== undefined,
    queryFn: async () => unwrap(await api.GET('/subscriptions/{id}/replay/{replayId}', { params: { path: { id: s.id, replayId: replayId! } } })),
    refetchInterval: (q) => (q.state.data?.status === 'running' ? 1000 : false),
  });
  const r = progress.data;
  const finished = r !== undefined && r.status !== 'running';
  // the log and the rows' last status change once the replayed deliveries exist
  useEffect(() => {
    if (finished) void qc.invalidateQueries({ queryKey: ['deliveries'] });
  }, [finished, qc]);
  const inactive = !s.enabled ? 'Enable the subscription to replay' : s.pausedReason ? 'Resume the subscription to replay' : undefined;
  return (
    <>
      <button type="button" onClick={() => setOpen(true)} disabled={inactive !== undefined} title={inactive}>
        Replay…
      </button>
      {(r || run.error) && (
        <span role="status" data-testid="replay-progress" className={run.error || r?.status === 'failed' ? 'field-error' : 'ok'}>
          {run.error
            ? messageOf(run.error)
            : r!.status === 'failed'
              ? r!.error
              : `Replay ${r!.status}: ${r!.delivered} sent, ${r!.existing} already had, of ${r!.total}`}
        </span>
      )}
      <Confirm
        open={open}
        title={`Replay missed events to ${s.name}`}
        confirmLabel="Replay"
        busy={run.isPending}
        onClose={() => setOpen(false)}
        onConfirm={() => run.mutate()}
      >
        <label htmlFor={`replay-since-${s.id}`}>Since</label>
        <input
          id={`replay-since-${s.id}`}
          type="datetime-local"
          value={toLocalInput(since)}
          onChange={(e) => setSince(fromLocalInput(e.target.value) ?? since)}
        />
        <p>
          Every {s.event} event received since then that this subscription matches and has not had is sent now.
          Events it already had (delivered or failed) are not sent again.
        </p>
      </Confirm>
    </>
  );
}
