import { Link } from '@tanstack/react-router';
import { DELIVERY_STATUSES } from '../api/types';
import { Empty, QueryView } from '../components/states';
import { StatusBadge } from '../components/status';
import { DeliveriesOverTime } from '../components/chart';
import { useStats, useSubscriptions, type Stats } from '../lib/queries';

const since24h = () => new Date(Date.now() - 24 * 3_600_000).toISOString();

/** Last 24 hours at a glance, with links into the filtered log, and the paused subscriptions. */
export function OverviewPage() {
  const stats = useStats(24);
  const subs = useSubscriptions();
  return (
    <>
      <h1>Overview</h1>
      <QueryView q={stats} what="totals">
        {(s) => (
          <>
            <section aria-labelledby="totals" className="cards">
              <h2 id="totals" className="sr-only">Last 24 hours</h2>
              <Link className="card" to="/deliveries" search={{ since: s.since }}>
                <span className="card-n" data-testid="total">{s.total}</span>
                <span>deliveries in 24 h</span>
              </Link>
              {DELIVERY_STATUSES.map((st) => (
                <Link key={st} className={`card card-${st}`} to="/deliveries" search={{ status: st, since: s.since }}>
                  <span className="card-n" data-testid={`count-${st}`}>{s.byStatus[st] ?? 0}</span>
                  <StatusBadge status={st} />
                </Link>
              ))}
            </section>
            {s.total === 0 && (
              <Empty>
                No deliveries in the last 24 hours. <Link to="/subscriptions/new">Create a subscription</Link>, then use its
                <em> Test send</em> or post an event to <code>/api/v1/ingest</code>.
              </Empty>
            )}
            <DeliveriesOverTime title="Deliveries by status over time" />
            <div className="two-col">
              <Breakdown title="By provider" rows={s.byProvider} filter="provider" />
              <Breakdown title="By event" rows={s.byEvent} filter="event" />
            </div>
          </>
        )}
      </QueryView>
      <section aria-labelledby="paused">
        <h2 id="paused">Paused subscriptions</h2>
        <QueryView q={subs} what="subscriptions">
          {(all) => {
            const paused = all.filter((x) => x.pausedReason);
            if (!paused.length) return <p className="muted">None: every enabled subscription is delivering.</p>;
            return (
              <ul className="plain">
                {paused.map((x) => (
                  <li key={x.id}>
                    <Link to="/subscriptions/$id" params={{ id: x.id }}>{x.name}</Link>: {x.pausedReason}{' '}
                    <Link to="/deliveries" search={{ subscriptionId: x.id, status: 'failed' }}>failed deliveries</Link>
                  </li>
                ))}
              </ul>
            );
          }}
        </QueryView>
      </section>
    </>
  );
}

function Breakdown({ title, rows, filter }: { title: string; rows: Stats['byEvent']; filter: 'provider' | 'event' }) {
  const entries = Object.entries(rows).sort((a, b) => b[1].total - a[1].total);
  return (
    <section>
      <h2>{title}</h2>
      {entries.length === 0 ? (
        <p className="muted">Nothing yet.</p>
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">{filter}</th>
                <th scope="col">total</th>
                <th scope="col">success</th>
                <th scope="col">failed</th>
                <th scope="col">retrying</th>
              </tr>
            </thead>
            <tbody>
              {entries.map(([k, v]) => (
                <tr key={k}>
                  <th scope="row">
                    <Link to="/deliveries" search={{ [filter]: k, since: since24h() }}>{k}</Link>
                  </th>
                  <td>{v.total}</td>
                  <td>{v.success ?? 0}</td>
                  <td>{v.failed ? <Link to="/deliveries" search={{ [filter]: k, status: 'failed' }}>{v.failed}</Link> : 0}</td>
                  <td>{v.retrying ?? 0}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
