import { Link, useNavigate, useSearch } from '@tanstack/react-router';
import { TARGET_STATES, type Target, type TargetLimit, type TargetState } from '../api/types';
import { Countdown } from '../components/countdown';
import { Empty, ErrorState, Loading } from '../components/states';
import { ago, until, when } from '../lib/format';
import { useTargetLimits, useTargets } from '../lib/queries';

export interface TargetSearch {
  state?: TargetState;
}

/** The targets page's URL search: only a known circuit state is kept. */
export function parseTargetSearch(raw: Record<string, unknown>): TargetSearch {
  return TARGET_STATES.includes(raw.state as TargetState) ? { state: raw.state as TargetState } : {};
}

const STATE_LABEL: Record<TargetState, string> = { closed: 'closed', open: 'open', half_open: 'half open' };

/** Target health (read-only): each destination's circuit, failure rate, subscriptions and rate limit. */
export function TargetsPage() {
  const search = parseTargetSearch(useSearch({ strict: false }) as Record<string, unknown>);
  const navigate = useNavigate();
  const targets = useTargets(search.state);
  const limits = useTargetLimits();
  const byKey = new Map((limits.data ?? []).map((l) => [l.targetKey, l]));
  return (
    <>
      <h1>Targets</h1>
      <div className="filters" role="search" aria-label="Filters">
        <div className="field">
          <label htmlFor="flt-state">State</label>
          <select id="flt-state" value={search.state ?? ''} onChange={(e) => navigate({ to: '/targets', search: parseTargetSearch({ state: e.target.value }) })}>
            <option value="">any</option>
            {TARGET_STATES.map((s) => <option key={s} value={s}>{STATE_LABEL[s]}</option>)}
          </select>
        </div>
      </div>
      {targets.isPending ? (
        <Loading what="targets" />
      ) : targets.error ? (
        <ErrorState error={targets.error} retry={() => targets.refetch()} />
      ) : targets.data.length === 0 ? (
        <Empty>
          {search.state ? (
            <>No target is {STATE_LABEL[search.state]}. <Link to="/targets">Show every target</Link>.</>
          ) : (
            <>No target has been attempted yet. Targets appear after the first delivery attempt to them.</>
          )}
        </Empty>
      ) : (
        <>
          {limits.error && <ErrorState error={limits.error} retry={() => limits.refetch()} />}
          <div className="table-wrap">
            <table className="log">
              <thead>
                <tr>
                  <th scope="col">Target</th>
                  <th scope="col">State</th>
                  <th scope="col">Failure rate</th>
                  <th scope="col" className="wide-only">Attempts in window</th>
                  <th scope="col" className="wide-only">Opened / next probe</th>
                  <th scope="col" className="wide-only">Failing since</th>
                  <th scope="col">Subscriptions</th>
                  <th scope="col" className="wide-only">Rate limit</th>
                </tr>
              </thead>
              <tbody>
                {targets.data.map((t) => <TargetRow key={t.target} t={t} limit={byKey.get(t.target)} />)}
              </tbody>
            </table>
          </div>
        </>
      )}
    </>
  );
}

function TargetRow({ t, limit }: { t: Target; limit?: TargetLimit }) {
  return (
    <tr data-testid="target-row" data-target={t.target} data-state={t.state}>
      <td>
        <code>{t.target}</code> <span className="muted">{t.provider}</span>
      </td>
      <td><span className={`badge badge-circuit-${t.state}`}>{STATE_LABEL[t.state]}</span></td>
      <td>{t.failureRate === null ? '—' : `${Math.round(t.failureRate * 100)} %`}</td>
      <td className="wide-only">{t.attemptsInWindow}</td>
      <td className="wide-only">
        {t.openedAt ? <span title={when(t.openedAt)}>opened {ago(t.openedAt)}</span> : '—'}
        {t.nextProbeAt && <> · probe <Countdown iso={t.nextProbeAt} /></>}
      </td>
      <td className="wide-only" title={when(t.failingSince)}>{t.failingSince ? ago(t.failingSince) : '—'}</td>
      <td>
        {t.subscriptions.length
          ? t.subscriptions.map((s, i) => (
              <span key={s.id}>
                {i ? ', ' : ''}
                <Link to="/subscriptions/$id" params={{ id: s.id }}>{s.name}</Link>
                {!s.enabled && <span className="tag" title={s.pausedReason ?? undefined}>{s.pausedReason ? 'paused' : 'disabled'}</span>}
              </span>
            ))
          : '—'}
      </td>
      <td className="wide-only"><LimitCell limit={limit} /></td>
    </tr>
  );
}

function LimitCell({ limit }: { limit?: TargetLimit }) {
  if (!limit) return <>—</>;
  const blocked = limit.blockedUntil && Date.parse(limit.blockedUntil) > Date.now();
  return (
    <>
      {limit.requestsPerSecond === null ? 'none' : `${limit.requestsPerSecond}/s`}
      {limit.learnedAt && <span className="muted" title={when(limit.learnedAt)}> learned{limit.learnedStatus ? ` from HTTP ${limit.learnedStatus}` : ''}</span>}
      {blocked && limit.blockedUntil && <> · blocked until {when(limit.blockedUntil)}</>}
    </>
  );
}
