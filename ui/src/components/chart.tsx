import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { api } from '../api/client';
import { unwrap } from '../api/problem';
import type { components } from '../api/schema.gen';
import { QueryView } from './states';

type Series = components['schemas']['DeliverySeries'];
type Bucket = Series['series'][number];

/** Bottom to top in each bar. */
const STACK = ['success', 'superseded', 'pending', 'retrying', 'failed'] as const;

const RANGES = {
  '24h': { label: 'Last 24 hours (hourly)', bucket: 'hour', hours: 24 },
  '7d': { label: 'Last 7 days (daily)', bucket: 'day', hours: 24 * 7 },
  '30d': { label: 'Last 30 days (daily)', bucket: 'day', hours: 24 * 30 },
} as const;
type Range = keyof typeof RANGES;

/** Deliveries by status over time (one stacked bar per hour or day), with a range switch; `subscriptionId` narrows it. */
export function DeliveriesOverTime({ subscriptionId, title }: { subscriptionId?: string; title: string }) {
  const [range, setRange] = useState<Range>('24h');
  const r = RANGES[range];
  const q = useQuery({
    queryKey: ['stats-series', r.bucket, r.hours, subscriptionId ?? null],
    queryFn: async () =>
      unwrap(await api.GET('/stats/deliveries', { params: { query: { bucket: r.bucket, hours: r.hours, ...(subscriptionId ? { subscriptionId } : {}) } } })),
    refetchInterval: 30_000,
  });
  const id = subscriptionId ? `chart-${subscriptionId}` : 'chart-all';
  return (
    <section aria-labelledby={id} className="chart-section">
      <div className="chart-head">
        <h2 id={id}>{title}</h2>
        <label className="inline-label">
          <span className="sr-only">Range</span>
          <select aria-label="Range" value={range} onChange={(e) => setRange(e.target.value as Range)}>
            {Object.entries(RANGES).map(([k, v]) => <option key={k} value={k}>{v.label}</option>)}
          </select>
        </label>
      </div>
      <QueryView q={q} what="the chart">
        {(s) => <StackedBars s={s} />}
      </QueryView>
    </section>
  );
}

const W = 720;
const H = 200;
const LEFT = 40;
const BOTTOM = 22;
const TOP = 8;

/** A hand-drawn SVG (no script or inline style: the strict CSP holds); colours come from the stylesheet. */
function StackedBars({ s }: { s: Series }) {
  const max = Math.max(1, ...s.series.map((b) => b.total));
  const top = niceCeil(max);
  const n = s.series.length;
  const slot = (W - LEFT) / n;
  const barW = Math.max(1, slot * 0.78);
  const y = (v: number) => TOP + (H - TOP - BOTTOM) * (1 - v / top);
  const every = Math.max(1, Math.ceil(n / 6));
  const total = s.series.reduce((a, b) => a + b.total, 0);
  const failures = s.series.reduce((a, b) => a + b.failed + b.retrying, 0);
  return (
    <>
      <p className="hint" data-testid="chart-summary">
        {total} deliveries, {failures} failed or retrying.
      </p>
      <svg className="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`Deliveries by status per ${s.bucket}: ${total} in all, ${failures} failed or retrying`} data-testid="chart">
        {[0, top / 2, top].map((t) => (
          <g key={t}>
            <line className="chart-grid" x1={LEFT} x2={W} y1={y(t)} y2={y(t)} />
            <text className="chart-axis" x={LEFT - 6} y={y(t) + 4} textAnchor="end">{t}</text>
          </g>
        ))}
        {s.series.map((b, i) => {
          const x = LEFT + i * slot + (slot - barW) / 2;
          let acc = 0;
          return (
            <g key={b.at} data-testid="chart-bucket" data-at={b.at} data-total={b.total}>
              {STACK.filter((st) => b[st] > 0).map((st) => {
                const y0 = y(acc);
                acc += b[st];
                const y1 = y(acc);
                return (
                  <rect key={st} className={`bar bar-${st}`} x={x} y={y1} width={barW} height={Math.max(0.5, y0 - y1)} data-testid="chart-bar" data-status={st} data-count={b[st]}>
                    <title>{`${label(b.at, s.bucket)}: ${b[st]} ${st}`}</title>
                  </rect>
                );
              })}
              {i % every === 0 && <text className="chart-axis" x={x + barW / 2} y={H - 6} textAnchor="middle">{label(b.at, s.bucket)}</text>}
            </g>
          );
        })}
      </svg>
      <ul className="legend" aria-label="Legend">
        {STACK.map((st) => <li key={st}><span className={`swatch bar-${st}`} aria-hidden="true" />{st}</li>)}
      </ul>
      <details className="chart-table">
        <summary>As a table</summary>
        <div className="table-wrap">
          <table>
            <thead><tr><th scope="col">{s.bucket === 'hour' ? 'Hour' : 'Day'}</th><th scope="col">total</th>{STACK.map((st) => <th key={st} scope="col">{st}</th>)}</tr></thead>
            <tbody>
              {s.series.filter((b) => b.total > 0).map((b: Bucket) => (
                <tr key={b.at}><th scope="row">{label(b.at, s.bucket)}</th><td>{b.total}</td>{STACK.map((st) => <td key={st}>{b[st]}</td>)}</tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </>
  );
}

/** 1, 2, 5 × 10^k at or above `v`. */
function niceCeil(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function label(iso: string, bucket: 'hour' | 'day'): string {
  const d = new Date(iso);
  return bucket === 'hour'
    ? d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' })
    : d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' });
}
