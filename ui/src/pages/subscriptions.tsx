import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate } from '@tanstack/react-router';
import { useState } from 'react';
import { api } from '../api/client';
import { messageOf, unwrap } from '../api/problem';
import type { Subscription } from '../api/types';
import { Confirm } from '../components/dialog';
import { Empty, QueryView } from '../components/states';
import { StatusBadge } from '../components/status';
import { useSubscriptions, useSubscriptionStats, type SubscriptionStats } from '../lib/queries';
import { destinationOf } from '../lib/destination';
import { useCan } from '../lib/session';
import { ReplayButton } from './subscription-replay';
import { useNotify } from '../lib/notice';

/** The status of each subscription's newest delivery (one small query per row, newest first, limit 1). */
function LastStatus({ id }: { id: string }) {
  const q = useQuery({
    queryKey: ['deliveries', { subscriptionId: id, last: true }],
    queryFn: async () => unwrap(await api.GET('/deliveries', { params: { query: { subscriptionId: id, limit: 1 } as never } })).items[0],
  });
  if (!q.data) return <span className="muted">—</span>;
  return (
    <Link to="/deliveries/$id" params={{ id: q.data.id }}>
      <StatusBadge status={q.data.status} />
    </Link>
  );
}

/** Subscriptions: what is wired to what, switch on/off, test send, replay missed events, delete. */
export function SubscriptionsPage() {
  const subs = useSubscriptions();
  const stats = useSubscriptionStats(24);
  const can = useCan();
  return (
    <>
      <div className="page-head">
        <h1>Subscriptions</h1>
        {can.write && <Link className="button primary" to="/subscriptions/new">New subscription</Link>}
      </div>
      <QueryView q={subs} what="subscriptions">
        {(items) =>
          items.length === 0 ? (
            <Empty>
              No subscription yet: nothing is delivered anywhere.{' '}
              {can.write ? <Link to="/subscriptions/new">Create the first one</Link> : 'Ask an admin or manager to create one.'}
            </Empty>
          ) : (
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Provider</th>
                    <th scope="col">Event</th>
                    <th scope="col">Destination</th>
                    <th scope="col" className="wide-only">Systems</th>
                    <th scope="col"><abbr title="Successful of the deliveries that finished in the last 24 hours">Success 24 h</abbr></th>
                    <th scope="col">Enabled</th>
                    <th scope="col">Last</th>
                    {can.write && <th scope="col"><span className="sr-only">Actions</span></th>}
                  </tr>
                </thead>
                <tbody>
                  {items.map((s) => <Row key={s.id} s={s} write={can.write} stats={stats.data?.get(s.id)} />)}
                </tbody>
              </table>
            </div>
          )
        }
      </QueryView>
    </>
  );
}

function Row({ s, write, stats }: { s: Subscription; write: boolean; stats?: SubscriptionStats }) {
  const qc = useQueryClient();
  const notify = useNotify();
  const navigate = useNavigate();
  const [confirm, setConfirm] = useState(false);
  const reload = () => qc.invalidateQueries({ queryKey: ['subscriptions'] });
  const toggle = useMutation({
    mutationFn: async () => unwrap(await api.PATCH('/subscriptions/{id}', { params: { path: { id: s.id } }, body: { enabled: !s.enabled } })),
    onSuccess: (after) => { reload(); notify(after.enabled ? `${after.name} is on: new events are delivered.` : `${after.name} is off: new events are not delivered to it.`); },
  });
  const test = useMutation({
    mutationFn: async () => unwrap(await api.POST('/subscriptions/{id}/test', { params: { path: { id: s.id } } })),
    onSuccess: (r) => navigate({ to: '/deliveries/$id', params: { id: r.deliveryId } }),
  });
  const remove = useMutation({
    mutationFn: async () => unwrap(await api.DELETE('/subscriptions/{id}', { params: { path: { id: s.id } } })),
    onSuccess: () => { setConfirm(false); reload(); notify(`Deleted ${s.name}.`); },
  });
  const err = toggle.error ?? test.error ?? remove.error;
  return (
    <tr data-testid="subscription-row" data-id={s.id}>
      <th scope="row">
        <Link to="/subscriptions/$id" params={{ id: s.id }}>{s.name}</Link>
        {s.pausedReason && <p className="paused" title="Paused">⏸ {s.pausedReason}</p>}
        {err && <p className="field-error" role="alert">{messageOf(err)}</p>}
      </th>
      <td>{s.provider}</td>
      <td>{s.event}</td>
      <td className="destination" data-testid="destination">{destinationOf(s.provider, s.config as Record<string, unknown>)}</td>
      <td className="wide-only">{s.systemIds.length ? s.systemIds.join(', ') : 'all'}</td>
      <td data-testid="success-rate"><SuccessRate stats={stats} /></td>
      <td>
        {write ? (
          <label className="switch">
            <input type="checkbox" role="switch" checked={s.enabled} disabled={toggle.isPending} onChange={() => toggle.mutate()} aria-label={`Enabled: ${s.name}`} />
            <span>{s.enabled ? 'on' : 'off'}</span>
          </label>
        ) : s.enabled ? 'on' : 'off'}
      </td>
      <td><LastStatus id={s.id} /></td>
      {write && (
        <td className="row-actions">
          <button type="button" onClick={() => test.mutate()} disabled={test.isPending}>Test send</button>
          <ReplayButton s={s} />
          <button type="button" className="danger" onClick={() => setConfirm(true)}>Delete</button>
          <Confirm open={confirm} title={`Delete ${s.name}?`} confirmLabel="Delete" busy={remove.isPending} onClose={() => setConfirm(false)} onConfirm={() => remove.mutate()}>
            <p>Events stop going to this subscription. Its delivery log stays.</p>
          </Confirm>
        </td>
      )}
    </tr>
  );
}

/** "92 % of 25" over the last 24 hours (finished deliveries); "—" when none finished. */
function SuccessRate({ stats }: { stats?: SubscriptionStats }) {
  if (!stats || stats.successRate === null) return <span className="muted" title="No finished delivery in the last 24 hours">—</span>;
  const pct = Math.round(stats.successRate * 100);
  return (
    <span className={`rate${pct < 90 ? ' rate-bad' : ''}`} title={`${stats.success} succeeded, ${stats.failed} failed, ${stats.retrying} retrying in the last 24 hours`}>
      {pct} % <span className="muted">of {stats.success + stats.failed}</span>
    </span>
  );
}
