import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Registry } from 'prom-client';
import { parse } from 'yaml';
import { registerBacklogGauges } from '../../src/metrics/backlog';
import { DeliveryMetrics } from '../../src/metrics/deliveries';
import { registerPollerGauge } from '../../src/metrics/pollers';

// compiled to dist/test/unit: the repository root is three levels up
const ROOT = path.resolve(__dirname, '../../..');

/** Every series name the hub exports, histograms with their _bucket, _count and _sum series. */
async function exportedSeries(): Promise<Set<string>> {
  const registry = new Registry();
  new DeliveryMetrics(registry);
  registerBacklogGauges(registry, { query: async () => [] });
  registerPollerGauge(registry, { 'integrations-hub': async () => 1 });
  const names = new Set<string>();
  for (const m of await registry.getMetricsAsJSON()) {
    if (String(m.type) === 'histogram') for (const s of ['_bucket', '_count', '_sum']) names.add(`${m.name}${s}`);
    else names.add(m.name);
  }
  return names;
}

const PROMQL_WORDS = new Set(['by', 'without', 'and', 'or', 'unless', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'inf', 'nan']);

/** The metric names a PromQL expression reads: identifiers outside strings, label matchers and ranges that are not functions or keywords. */
export function metricsIn(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    // grouping labels: by (provider, le), without (instance)
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = [...bare.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)]
    // a function is followed by its parenthesis
    .filter((m) => !/^\s*\(/.test(bare.slice(m.index! + m[0].length)))
    .map((m) => m[0])
    .filter((w) => !PROMQL_WORDS.has(w.toLowerCase()) && !/^\d/.test(w));
  return [...new Set(names)];
}

describe('deploy/ monitoring files use only metrics the hub exports', () => {
  it('finds the metric names of an expression and not its functions, labels or keywords', () => {
    assert.deepEqual(
      metricsIn('sum by (provider, le) (rate(a_total{outcome="failed", x=~"b.*"}[5m])) / on (provider) b_count > 0.2 and c'),
      ['a_total', 'b_count', 'c'],
    );
    assert.deepEqual(metricsIn('histogram_quantile(0.95, sum by (le) (rate(h_bucket[15m])))'), ['h_bucket']);
  });

  it('deploy/prometheus/alerts.yml: every rule is complete and its expr reads exported metrics', async () => {
    const exported = await exportedSeries();
    const doc = parse(fs.readFileSync(path.join(ROOT, 'deploy/prometheus/alerts.yml'), 'utf8')) as {
      groups: { name: string; rules: { alert?: string; expr?: string; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> }[] }[];
    };
    const rules = doc.groups.flatMap((g) => g.rules);
    const alerts = new Set(rules.map((r) => r.alert));
    for (const wanted of ['IntegrationsHubOldestPendingTooOld', 'IntegrationsHubNoWorkerPolling', 'IntegrationsHubDeliveryFailureRatioHigh', 'IntegrationsHubBacklogGrowing']) {
      assert.ok(alerts.has(wanted), `${wanted} is missing`);
    }
    for (const r of rules) {
      assert.ok(r.alert && r.expr, `a rule without alert or expr: ${JSON.stringify(r)}`);
      assert.ok(r.labels?.severity, `${r.alert} has no severity`);
      assert.ok(r.annotations?.summary, `${r.alert} has no summary`);
      const used = metricsIn(r.expr);
      assert.ok(used.length > 0, `${r.alert} reads no metric`);
      const unknown = used.filter((m) => !exported.has(m));
      assert.deepEqual(unknown, [], `${r.alert} reads metrics the hub does not export`);
    }
  });

  it('deploy/grafana/integrations-hub.json: every panel query reads exported metrics', async () => {
    const exported = await exportedSeries();
    const dash = JSON.parse(fs.readFileSync(path.join(ROOT, 'deploy/grafana/integrations-hub.json'), 'utf8')) as {
      title: string;
      panels: { title: string; targets?: { expr: string }[] }[];
    };
    assert.equal(dash.title, 'Integrations Hub');
    assert.ok(dash.panels.length >= 6);
    const seen = new Set<string>();
    for (const p of dash.panels) {
      assert.ok(p.targets?.length, `panel ${p.title} has no query`);
      for (const t of p.targets) {
        const used = metricsIn(t.expr);
        assert.ok(used.length > 0, `panel ${p.title} reads no metric`);
        assert.deepEqual(used.filter((m) => !exported.has(m)), [], `panel ${p.title} reads metrics the hub does not export`);
        used.forEach((m) => seen.add(m));
      }
    }
    // every delivery metric has a panel
    const base = (s: string) => s.replace(/_(bucket|count|sum)$/, '');
    const shown = new Set([...seen].map(base));
    const missing = [...new Set([...exported].map(base))].filter((m) => !shown.has(m));
    assert.deepEqual(missing, [], 'metrics without a panel');
  });
});
