import { useQuery } from '@tanstack/react-query';
import { api } from '../api/client';
import { unwrap } from '../api/problem';
import type { components } from '../api/schema.gen';
import { QueryView } from './states';

type Exchange = components['schemas']['AttemptExchange'];

/** The requests one attempt sent and the answers it got, as the log keeps them (secrets masked, bodies cut to size). */
export function AttemptExchanges({ deliveryId, attempt }: { deliveryId: string; attempt: number }) {
  const q = useQuery({
    queryKey: ['attempt', deliveryId, attempt],
    queryFn: async () => unwrap(await api.GET('/deliveries/{id}/attempts/{attempt}', { params: { path: { id: deliveryId, attempt } } })),
  });
  return (
    <QueryView q={q} what="the request and response">
      {(a) =>
        a.exchanges.length === 0 ? (
          <p className="muted">
            {a.purgedAt ? `Dropped by retention with the payload on ${new Date(a.purgedAt).toLocaleString()}.` : 'This attempt sent no HTTP request.'}
          </p>
        ) : (
          <div className="exchanges" data-testid={`exchanges-${attempt}`}>
            {a.exchanges.map((x, i) => <ExchangeView key={i} x={x} n={a.exchanges.length > 1 ? i + 1 : undefined} />)}
          </div>
        )
      }
    </QueryView>
  );
}

function ExchangeView({ x, n }: { x: Exchange; n?: number }) {
  return (
    <div className="exchange">
      <h4 className="exchange-head">
        {n !== undefined && <span className="muted">{n}. </span>}
        <span data-testid="request-line">{x.request.method} {x.request.url}</span>
      </h4>
      <div className="exchange-grid">
        <section aria-label="Request">
          <h5>Request</h5>
          <Headers headers={x.request.headers} />
          {x.request.body !== undefined && <Body body={x.request.body} bytes={x.request.bodyBytes} truncated={x.request.bodyTruncated} testId="request-body" />}
        </section>
        <section aria-label="Response">
          <h5>
            Response{' '}
            {x.response ? <span data-testid="response-status">HTTP {x.response.status}</span> : <span className="field-error">no answer</span>}
            <span className="muted"> · {x.durationMs} ms</span>
          </h5>
          {x.error && <p className="attempt-error">{x.error}</p>}
          {x.response && (
            <>
              <Headers headers={x.response.headers} />
              <Body body={x.response.body} bytes={x.response.bodyBytes} truncated={x.response.bodyTruncated} testId="response-body" />
            </>
          )}
        </section>
      </div>
    </div>
  );
}

function Headers({ headers }: { headers: Record<string, string> }) {
  const entries = Object.entries(headers);
  if (!entries.length) return <p className="muted small-text">No headers</p>;
  return (
    <pre className="mono box small" data-testid="headers">{entries.map(([k, v]) => `${k}: ${v}`).join('\n')}</pre>
  );
}

function Body({ body, bytes, truncated, testId }: { body: string; bytes?: number; truncated?: boolean; testId: string }) {
  return (
    <>
      <pre className="mono box small" data-testid={testId}>{pretty(body) || '(empty body)'}</pre>
      {truncated && <p className="hint">Cut to the first {new Blob([body]).size.toLocaleString()} of {bytes?.toLocaleString()} bytes (ATTEMPT_BODY_MAX_BYTES).</p>}
    </>
  );
}

/** JSON indented for reading; anything else as it is. */
function pretty(body: string): string {
  const t = body.trim();
  if (!t.startsWith('{') && !t.startsWith('[')) return body;
  try {
    return JSON.stringify(JSON.parse(t), null, 2);
  } catch {
    return body;
  }
}
