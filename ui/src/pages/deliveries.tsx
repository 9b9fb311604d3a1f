import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { messageOf } from '../api/problem';
import { useCan } from '../lib/session';
import { Link, useNavigate, useSearch } from '@tanstack/react-router';
import { api } from '../api/client';
import { unwrap } from '../api/problem';
import { Empty, ErrorState, Loading } from '../components/states';
import { StatusBadge } from '../components/status';
import { ago, until, when } from '../lib/format';
import { useLiveDeliveries } from '../lib/live';
import { useSubscriptions } from '../lib/queries';
import { LogFilters } from './deliveries-filters';
import { RecoverButton } from './deliveries-recover';

/** The log's filters as kept in the URL (shareable links). */
export interface LogSearch {
  status?: string;
  subscriptionId?: string;
  event?: string;
  provider?: string;
  systemId?: string;
  since?: string;
  until?: string;
  search?: string;
}

const KEYS: (keyof LogSearch)[] = ['status', 'subscriptionId', 'event', 'provider', 'systemId', 'since', 'until', 'search'];

/** Keeps the known, non-empty string filters of a URL's search. */
export function parseLogSearch(raw: Record<string, unknown>): LogSearch {
  const out: LogSearch = {};
  for (const k of KEYS) if (typeof raw[k] === 'string' && raw[k]) out[k] = raw[k] as string;
  return out;
}

const PAGE = 50;

/** The delivery log: filters in the URL, keyset paging, live updates. */
export function DeliveriesPage() {
  const search = parseLogSearch(useSearch({ strict: false }) as Record<string, unknown>);
  const navigate = useNavigate();
  const subs = useSubscriptions();
  const key = ['deliveries', search];
  const list = useInfiniteQuery({
    queryKey: key,
    initialPageParam: undefined as string | undefined,
    queryFn: async ({ pageParam }) => unwrap(await api.GET('/deliveries', { params: { query: { ...search, limit: PAGE, cursor: pageParam } as never } })),
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });
  const live = useLiveDeliveries({ ...search }, key);
  const names = new Map((subs.data ?? []).map((s) => [s.id, s.name]));
  const items = list.data?.pages.flatMap((p) => p.items) ?? [];
  const setSearch = (next: LogSearch) => navigate({ to: '/deliveries', search: parseLogSearch(next as Record<string, unknown>) });
  const can = useCan();
  const qc = useQueryClient();
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const toggle = (id: string) => setSelected((s) => { const n = new Set(s); if (n.has(id)) n.delete(id); else n.add(id); return n; });
  const shownIds = items.map((d) => d.id);
  const allShown = shownIds.length > 0 && shownIds.every((id) => selected.has(id));
  // one POST /deliveries/{id}/retry per selected delivery, four at a time; each answer is counted, none is lost
  const retry = useMutation({
    mutationFn: async (ids: string[]) => {
      const queue = [...ids];
      const refused: { id: string; message: string }[] = [];
      let done = 0;
      const next = async (): Promise<void> => {
        for (let id = queue.shift(); id; id = queue.shift()) {
          try {
            unwrap(await api.POST('/deliveries/{id}/retry', { params: { path: { id } } }));
            done += 1;
          } catch (err) {
            refused.push({ id, message: messageOf(err) });
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(4, ids.length) }, next));
      return { done, refused };
    },
    onSuccess: () => { setSelected(new Set()); qc.invalidateQueries({ queryKey: ['deliveries'] }); },
  });
  return (
    <>
      <div className="page-head">
        <h1>Delivery log</h1>
        <span className={`live live-${live}`} role="status" data-testid="live">
          {live === 'live' ? '● live' : live === 'connecting' ? 'connecting…' : 'offline: reload to retry'}
        </span>
        <RecoverButton search={search} />
      </div>
      <LogFilters search={search} onChange={setSearch} subscriptions={subs.data ?? []} />
      {list.isPending ? (
        <Loading what="deliveries" />
      ) : list.error ? (
        <ErrorState error={list.error} retry={() => list.refetch()} />
      ) : items.length === 0 ? (
        <Empty>
          {Object.keys(search).length ? (
            <>No delivery matches these filters. <Link to="/deliveries">Clear the filters</Link>.</>
          ) : (
            <>No deliveries yet. <Link to="/subscriptions">Test send a subscription</Link> or post an event to <code>/api/v1/ingest</code>.</>
          )}
        </Empty>
      ) : (
        <>
        {can.write && (
          <div className="actions bulk" data-testid="bulk">
            <button type="button" className="primary" disabled={selected.size === 0 || retry.isPending} onClick={() => retry.mutate([...selected])}>
              {retry.isPending ? 'Retrying…' : `Retry selected (${selected.size})`}
            </button>
            {selected.size > 0 && <button type="button" onClick={() => setSelected(new Set())}>Clear selection</button>}
            {retry.data && (
              <span role="status" data-testid="bulk-result" className={retry.data.refused.length ? 'field-error' : 'ok'}>
                {retry.data.done} {retry.data.done === 1 ? 'delivery' : 'deliveries'} sent again
                {retry.data.refused.length ? `; ${retry.data.refused.length} refused: ${retry.data.refused.map((r) => `${r.id} (${r.message})`).join('; ')}` : '.'}
              </span>
            )}
            {retry.error && <span role="alert" className="field-error">{messageOf(retry.error)}</span>}
          </div>
        )}
        <div className="table-wrap">
          <table className="log">
            <thead>
              <tr>
                {can.write && (
                  <th scope="col">
                    <input type="checkbox" aria-label="Select every delivery shown" checked={allShown}
                      onChange={() => setSelected(allShown ? new Set() : new Set(shownIds))} />
                  </th>
                )}
                <th scope="col">Created</th>
                <th scope="col">Status</th>
                <th scope="col">Event</th>
                <th scope="col" className="wide-only">Provider</th>
                <th scope="col">Subscription</th>
                <th scope="col" className="wide-only">Attempts</th>
                <th scope="col" className="wide-only">Next / last</th>
                <th scope="col" className="wide-only">Error</th>
              </tr>
            </thead>
            <tbody>
              {items.map((d) => (
                <tr key={d.id} data-testid="delivery-row" data-id={d.id} data-status={d.status}>
                  {can.write && (
                    <td><input type="checkbox" aria-label={`Select delivery ${d.id}`} checked={selected.has(d.id)} onChange={() => toggle(d.id)} /></td>
                  )}
                  <td>
                    <Link to="/deliveries/$id" params={{ id: d.id }} title={when(d.createdAt)}>
                      {ago(d.createdAt)}
                    </Link>
                    {d.test && <span className="tag">test</span>}
                  </td>
                  <td><StatusBadge status={d.status} /></td>
                  <td>{d.event}</td>
                  <td className="wide-only">{d.provider}</td>
                  <td>{names.get(d.subscriptionId) ?? d.subscriptionId}</td>
                  <td className="wide-only">{d.attempts}</td>
                  <td className="wide-only">{d.nextRetryAt && (d.status === 'retrying' || d.status === 'pending') ? `retry ${until(d.nextRetryAt)}` : ago(d.lastAttemptAt)}</td>
                  <td className="wide-only error-cell">{d.error}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        </>
      )}
      {list.hasNextPage && (
        <button type="button" onClick={() => list.fetchNextPage()} disabled={list.isFetchingNextPage}>
          {list.isFetchingNextPage ? 'Loading…' : 'Older deliveries'}
        </button>
      )}
    </>
  );
}

