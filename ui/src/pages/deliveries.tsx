import { useInfiniteQuery } from '@tanstack/react-query';
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
        <div className="table-wrap">
          <table className="log">
            <thead>
              <tr>
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
      )}
      {list.hasNextPage && (
        <button type="button" onClick={() => list.fetchNextPage()} disabled={list.isFetchingNextPage}>
          {list.isFetchingNextPage ? 'Loading…' : 'Older deliveries'}
        </button>
      )}
    </>
  );
}

