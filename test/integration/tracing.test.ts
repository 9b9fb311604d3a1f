import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { installTracing, type Tracing } from '../../src/telemetry/tracing';
import { Receiver } from '../fakes/receiver';
import { Hub, INGEST_TOKEN, waitFor } from '../support/hub';

/** The spans in one OTLP/HTTP JSON export body. */
function spansOf(body: string): { traceId: string; spanId: string; parentSpanId?: string; name: string }[] {
  const doc = JSON.parse(body) as { resourceSpans?: { scopeSpans?: { spans?: { traceId: string; spanId: string; parentSpanId?: string; name: string }[] }[] }[] };
  return (doc.resourceSpans ?? []).flatMap((r) => (r.scopeSpans ?? []).flatMap((s) => s.spans ?? []));
}

describe('OpenTelemetry: a traceparent given at ingest reaches the provider request', function () {
  this.timeout(120_000);
  let hub: Hub;
  let receiver: Receiver;
  let collector: Receiver;
  let tracing: Tracing;

  before(async () => {
    collector = await new Receiver().start();
    tracing = installTracing({ serviceName: 'integrations-hub-test', otlpEndpoint: collector.url });
    // an endpoint configured: the worker runs the bundle with the OpenTelemetry workflow interceptors
    hub = await Hub.start('tracing', { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url });
    receiver = await new Receiver().start();
  });
  after(async () => {
    await hub?.close();
    await tracing?.shutdown();
    await receiver?.stop();
    await collector?.stop();
  });

  it('continues the trace through the workflow and its activity to the outgoing request, and exports the spans', async () => {
    const sub = await hub.call('POST', '/subscriptions', {
      name: 'traced', provider: 'webhook', event: 'incident.created', config: { url: `${receiver.url}/traced` },
    });
    assert.equal(sub.status, 201, JSON.stringify(sub.body));
    const traceId = crypto.randomBytes(16).toString('hex');
    const callerSpanId = crypto.randomBytes(8).toString('hex');
    const res = await hub.call(
      'POST', '/ingest',
      { event: 'incident.created', id: 'evt-traced', payload: { incidentId: 'i-1', title: 'traced', severity: 'major' } },
      INGEST_TOKEN,
      { traceparent: `00-${traceId}-${callerSpanId}-01` },
    );
    assert.equal(res.status, 202);
    const [req] = await waitFor(async () => (receiver.at('/traced').length ? receiver.at('/traced') : undefined), 'the provider request');
    const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(String(req.headers.traceparent));
    assert.ok(m, `traceparent on the provider request: ${req.headers.traceparent}`);
    assert.equal(m[1], traceId, 'the same trace id');
    assert.notEqual(m[2], callerSpanId, 'its parent is a span of the hub (the attempt activity), not the caller');

    // the spans of the trace reach the OTLP receiver: request, workflow start, workflow run, activity
    await tracing.flush();
    const spans = await waitFor(async () => {
      await tracing.flush();
      const all = collector.at('/v1/traces').flatMap((r) => spansOf(r.body)).filter((s) => s.traceId === traceId);
      return all.some((s) => s.name.startsWith('RunActivity:deliverAttempt')) && all.some((s) => s.name.startsWith('RunWorkflow:')) ? all : undefined;
    }, 'the exported spans');
    const names = spans.map((s) => s.name);
    for (const wanted of ['POST /ingest', 'StartWorkflow:deliveryWorkflowV3', 'RunWorkflow:deliveryWorkflowV3', 'RunActivity:deliverAttempt']) {
      assert.ok(names.includes(wanted), `${wanted} among ${JSON.stringify(names)}`);
    }
    const ingest = spans.find((s) => s.name === 'POST /ingest')!;
    assert.equal(ingest.parentSpanId, callerSpanId, 'the request span is the child of the caller');
    const activity = spans.find((s) => s.name === 'RunActivity:deliverAttempt')!;
    assert.equal(activity.spanId, m[2], 'the provider request is sent from the activity span');
  });
});

describe('OpenTelemetry off: the plain workflow bundle still hands the trace context on', function () {
  this.timeout(120_000);
  let hub: Hub;
  let receiver: Receiver;
  let tracing: Tracing;

  before(async () => {
    // no endpoint: nothing is recorded or exported, the worker runs the bundle without the OpenTelemetry interceptors
    tracing = installTracing({ serviceName: 'integrations-hub-test' });
    hub = await Hub.start('tracing-off');
    receiver = await new Receiver().start();
  });
  after(async () => {
    await hub?.close();
    await tracing?.shutdown();
    await receiver?.stop();
  });

  it("sends the caller's traceparent on the provider request", async () => {
    const sub = await hub.call('POST', '/subscriptions', {
      name: 'untraced', provider: 'webhook', event: 'incident.created', config: { url: `${receiver.url}/untraced` },
    });
    assert.equal(sub.status, 201, JSON.stringify(sub.body));
    const traceId = crypto.randomBytes(16).toString('hex');
    const callerSpanId = crypto.randomBytes(8).toString('hex');
    const res = await hub.call(
      'POST', '/ingest',
      { event: 'incident.created', id: 'evt-untraced', payload: { incidentId: 'i-2', title: 'untraced', severity: 'major' } },
      INGEST_TOKEN,
      { traceparent: `00-${traceId}-${callerSpanId}-01` },
    );
    assert.equal(res.status, 202);
    const [req] = await waitFor(async () => (receiver.at('/untraced').length ? receiver.at('/untraced') : undefined), 'the provider request');
    // no span is recorded anywhere, so the caller's own context goes on unchanged
    assert.equal(req.headers.traceparent, `00-${traceId}-${callerSpanId}-01`);
  });
});
