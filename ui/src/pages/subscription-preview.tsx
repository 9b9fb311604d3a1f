/** One request the provider would send, as POST /subscriptions/preview returns it. */
export interface PreviewRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
}

const pretty = (body: string) => {
  try {
    return JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    return body;
  }
};

/** The requests a subscription would make for its event's example (nothing was sent). */
export function PreviewPanel({ requests }: { requests: PreviewRequest[] }) {
  return (
    <section className="preview" aria-labelledby="preview-title" data-testid="preview">
      <h2 id="preview-title">Preview: what the event's example would send</h2>
      {requests.length === 0 && <p className="muted">The provider would send no request for this example.</p>}
      {requests.map((r, i) => (
        <div key={i} className="preview-request">
          <p><code>{r.method} {r.url}</code></p>
          <pre className="mono box small">{Object.entries(r.headers).map(([k, v]) => `${k}: ${v}`).join('\n')}</pre>
          {r.body !== undefined && <pre className="mono box small">{pretty(r.body)}</pre>}
        </div>
      ))}
      <p className="hint">Nothing was sent: the provider ran against a recorder that answered 200. Secrets are replaced.</p>
    </section>
  );
}
