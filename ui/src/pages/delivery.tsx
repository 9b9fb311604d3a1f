import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useParams } from '@tanstack/react-router';
import { useState } from 'react';
import { api } from '../api/client';
import { messageOf, unwrap } from '../api/problem';
import type { Attempt } from '../api/types';
import { Countdown } from '../components/countdown';
import { Confirm } from '../components/dialog';
import { AttemptExchanges } from '../components/exchanges';
import { QueryView } from '../components/states';
import { StatusBadge } from '../components/status';
import { when } from '../lib/format';
import { useLiveDeliveries } from '../lib/live';
import { useCan } from '../lib/session';
import { useSubscriptions } from '../lib/queries';

/** One delivery: what was sent, why it failed, every attempt; retry and cancel. */
export function DeliveryPage() {
  const { id } = useParams({ strict: false }) as { id: string };
  const can = useCan();
  const qc = useQueryClient();
  const q = useQuery({ queryKey: ['delivery', id], queryFn: async () => unwrap(await api.GET('/deliveries/{id}', { params: { path: { id } } })) });
  useLiveDeliveries({ search: id }, ['delivery', id]);
  const [confirmCancel, setConfirmCancel] = useState(false);
  const subscriptions = useSubscriptions();
  const refresh = () => qc.invalidateQueries({ queryKey: ['delivery', id] });
  const retry = useMutation({ mutationFn: async () => unwrap(await api.POST('/deliveries/{id}/retry', { params: { path: { id } } })), onSuccess: refresh });
  const cancel = useMutation({
    mutationFn: async () => unwrap(await api.POST('/deliveries/{id}/cancel', { params: { path: { id } } })),
    onSuccess: () => { setConfirmCancel(false); refresh(); },
  });
  return (
    <QueryView q={q} what="the delivery">
      {(d) => (
        <>
          <p><Link to="/deliveries">← Delivery log</Link></p>
          <div className="page-head">
            <h1>Delivery <code>{d.id}</code></h1>
            <StatusBadge status={d.status} />
            {d.test && <span className="tag">test</span>}
          </div>
          {can.write && (
            <div className="actions">
              {permanent(d) ? (
                // retrying as it is would fail the same way: say so, and offer a resend for after the cause is fixed
                <>
                  <p className="hint" data-testid="permanent-hint">
                    The last attempt failed permanently{d.attemptLog.at(-1)?.httpStatus ? ` (HTTP ${d.attemptLog.at(-1)?.httpStatus})` : ''}: sent as it is, it would fail
                    again. Fix the cause (the receiver, or <Link to="/subscriptions/$id" params={{ id: d.subscriptionId }}>the subscription</Link>), then send it again.
                  </p>
                  <button type="button" onClick={() => retry.mutate()} disabled={retry.isPending}>Send again</button>
                </>
              ) : (
                <button type="button" className="primary" onClick={() => retry.mutate()} disabled={retry.isPending}>
                  {d.status === 'success' ? 'Redeliver' : 'Retry now'}
                </button>
              )}
              {(d.status === 'pending' || d.status === 'retrying') && (
                <button type="button" className="danger" onClick={() => setConfirmCancel(true)}>Cancel retries</button>
              )}
              {retry.isSuccess && <span role="status" className="ok">{retry.data.action === 'woken' ? 'The next attempt starts now.' : 'A new attempt was requested.'}</span>}
              {(retry.error || cancel.error) && <span role="alert" className="field-error">{messageOf(retry.error ?? cancel.error)}</span>}
            </div>
          )}
          <dl className="facts">
            <dt>Event</dt><dd>{d.event}</dd>
            <dt>Provider</dt><dd>{d.provider}</dd>
            <dt>Subscription</dt><dd><Link to="/subscriptions/$id" params={{ id: d.subscriptionId }}>{subscriptions.data?.find((x) => x.id === d.subscriptionId)?.name ?? d.subscriptionId}</Link></dd>
            <dt>Emission</dt><dd><code>{d.emissionId}</code></dd>
            <dt>Systems</dt><dd>{d.systemIds.join(', ') || '—'}</dd>
            <dt>Attempts</dt><dd data-testid="attempts">{d.attempts}</dd>
            <dt>Last attempt</dt><dd>{when(d.lastAttemptAt)}</dd>
            <dt>Next retry</dt><dd>{d.nextRetryAt && (d.status === 'retrying' || d.status === 'pending') ? <><Countdown iso={d.nextRetryAt} /> ({when(d.nextRetryAt)})</> : '—'}</dd>
            {d.waitingFor && (
              <><dt>Waiting for</dt><dd data-testid="waiting-for">
                <Link to="/deliveries/$id" params={{ id: d.waitingFor }}><code>{d.waitingFor}</code></Link>
                {' '}<span className="muted">(earlier in its lane: the same record and subject; this one goes when that one ends)</span>
              </dd></>
            )}
            {d.supersededBy && (
              <><dt>Superseded by</dt><dd data-testid="superseded-by">
                <Link to="/deliveries/$id" params={{ id: d.supersededBy }}><code>{d.supersededBy}</code></Link>
                {' '}<span className="muted">(a later event of the same subject carried the newer state; this one was not sent)</span>
              </dd></>
            )}
            <dt>External id</dt><dd>{d.externalId ?? '—'}</dd>
            <dt>Created</dt><dd>{when(d.createdAt)}</dd>
            <dt>Workflow</dt><dd><a href={d.temporalUrl} target="_blank" rel="noreferrer noopener">Open in Temporal Web ↗</a></dd>
          </dl>
          {d.error && (
            <section aria-labelledby="err"><h2 id="err">Error</h2><pre className="error-box" data-testid="error">{d.error}</pre></section>
          )}
          <section aria-labelledby="timeline">
            <h2 id="timeline">Attempts</h2>
            {d.attemptLog.length === 0 ? <p className="muted">No attempt yet: the first one is on its way.</p> : <Timeline deliveryId={d.id} attempts={d.attemptLog} purged={!!d.payloadPurgedAt} />}
          </section>
          <section aria-labelledby="payload">
            <h2 id="payload">Payload</h2>
            {d.payloadPurgedAt ? (
              <p className="muted">Dropped by retention on {new Date(d.payloadPurgedAt).toLocaleString()}; the row and its attempts are kept.</p>
            ) : (
              <pre className="mono box">{JSON.stringify(d.payload, null, 2)}</pre>
            )}
          </section>
          <Confirm open={confirmCancel} title="Cancel retries" confirmLabel="Cancel retries" busy={cancel.isPending} onClose={() => setConfirmCancel(false)} onConfirm={() => cancel.mutate()}>
            <p>No further attempt will be made; the delivery ends as failed. You can still retry it later.</p>
          </Confirm>
        </>
      )}
    </QueryView>
  );
}

/** Failed for good: the last attempt's outcome was permanent (a 4xx, a refused address, a config the provider rejects). */
const permanent = (d: { status: string; attemptLog: Attempt[] }) => d.status === 'failed' && d.attemptLog.at(-1)?.outcome === 'permanent';

function Timeline({ deliveryId, attempts, purged }: { deliveryId: string; attempts: Attempt[]; purged: boolean }) {
  const [open, setOpen] = useState<Record<number, boolean>>({});
  return (
    <ol className="timeline" data-testid="timeline">
      {attempts.map((a) => (
        <li key={`${a.attempt}-${a.startedAt}`} className={`attempt attempt-${a.outcome}`} data-testid="attempt">
          <div className="attempt-head">
            <strong>#{a.attempt}</strong> <span className={`badge badge-${a.outcome === 'success' ? 'success' : a.outcome === 'retryable' ? 'retrying' : 'failed'}`}>{a.outcome}</span>
            <span>{when(a.startedAt)}</span>
            <span>{a.durationMs} ms</span>
            {a.httpStatus !== undefined && <span>HTTP {a.httpStatus}</span>}
            {a.errorCode && <code>{a.errorCode}</code>}
            <span className="tag">{a.trigger}</span>
          </div>
          {a.error && <p className="attempt-error">{a.error}</p>}
          {a.log && <pre className="mono box small">{a.log}</pre>}
          {a.exchanges > 0 ? (
            <>
              <button type="button" className="link-button" aria-expanded={!!open[a.attempt]} onClick={() => setOpen((o) => ({ ...o, [a.attempt]: !o[a.attempt] }))}>
                {open[a.attempt] ? 'Hide' : 'Show'} request and response{a.exchanges > 1 ? ` (${a.exchanges} requests)` : ''}
              </button>
              {open[a.attempt] && <AttemptExchanges deliveryId={deliveryId} attempt={a.attempt} />}
            </>
          ) : (
            purged && <p className="hint">Request and response dropped by retention with the payload.</p>
          )}
        </li>
      ))}
    </ol>
  );
}
