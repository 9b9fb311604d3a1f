import { context, ROOT_CONTEXT, trace, TraceFlags } from '@opentelemetry/api';
import assert from 'node:assert/strict';
import { createGuardedHttpClient } from '../../providers/http/guarded-client';
import { inRequestSpan } from '../../src/telemetry/request-span';
import { installTracing, type Tracing } from '../../src/telemetry/tracing';
import { Receiver } from '../fakes/receiver';

describe('the guarded client sends the active trace context', () => {
  let receiver: Receiver;
  let tracing: Tracing;
  const http = createGuardedHttpClient({ timeoutMs: 5000, maxResponseBytes: 1024, allowedNetworks: ['127.0.0.0/8'] });
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const spanId = '00f067aa0ba902b7';
  const active = trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId, traceFlags: TraceFlags.SAMPLED, isRemote: true });

  before(async () => {
    receiver = await new Receiver().start();
    // no exporter: propagation only, as a process without OTEL_EXPORTER_OTLP_ENDPOINT runs
    tracing = installTracing({ serviceName: 'test' });
  });
  after(async () => {
    await tracing.shutdown();
    await receiver.stop();
  });
  beforeEach(() => {
    receiver.received.length = 0;
  });

  it('adds traceparent from the active span context, and nothing without one', async () => {
    await context.with(active, () => http.request({ method: 'POST', url: `${receiver.url}/a`, body: '{}' }));
    assert.equal(receiver.received[0].headers.traceparent, `00-${traceId}-${spanId}-01`);
    await http.request({ method: 'POST', url: `${receiver.url}/b`, body: '{}' });
    assert.equal(receiver.received[1].headers.traceparent, undefined);
  });

  it("keeps a traceparent the provider set itself", async () => {
    const own = `00-${'1'.repeat(32)}-${'2'.repeat(16)}-00`;
    await context.with(active, () => http.request({ method: 'GET', url: `${receiver.url}/c`, headers: { traceparent: own } }));
    assert.equal(receiver.received[0].headers.traceparent, own);
  });

  it('exports nothing and records nothing without an endpoint', () => {
    assert.equal(tracing.exporting, false);
    const span = trace.getTracer('t').startSpan('x', {}, active);
    assert.equal(span.isRecording(), false);
    assert.equal(span.spanContext().traceId, traceId, 'the caller context passes through');
  });

  it('runs an API handler in the context of the request traceparent; an invalid one is ignored', async () => {
    await inRequestSpan({ traceparent: `00-${traceId}-${spanId}-01` }, 'POST /ingest', () => http.request({ method: 'GET', url: `${receiver.url}/d` }));
    assert.match(String(receiver.received[0].headers.traceparent), new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    await inRequestSpan({ traceparent: 'not-a-trace' }, 'POST /ingest', () => http.request({ method: 'GET', url: `${receiver.url}/e` }));
    assert.equal(receiver.received[1].headers.traceparent, undefined);
    await assert.rejects(inRequestSpan({}, 'GET /x', () => Promise.reject(new Error('handler failed'))), /handler failed/);
  });
});
