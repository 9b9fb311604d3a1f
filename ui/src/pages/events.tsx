import { Link } from '@tanstack/react-router';
import { Empty, QueryView } from '../components/states';
import { useEvents, useSubscriptions } from '../lib/queries';

/** The event catalogue: what each event carries, its example, its subject key and who subscribes to it. */
export function EventsPage() {
  const events = useEvents();
  const subs = useSubscriptions();
  return (
    <>
      <h1>Events</h1>
      <QueryView q={events} what="the event catalogue">
        {(items) =>
          items.length === 0 ? (
            <Empty>The catalogue is empty. Domain services register their events with <code>PUT /api/v1/events/&lt;id&gt;</code>.</Empty>
          ) : (
            <div className="event-list">
              {items.map((e) => {
                const using = (subs.data ?? []).filter((s) => s.event === e.id);
                return (
                  <details key={e.id} className="event">
                    <summary>
                      <code>{e.id}</code> <span>{e.displayName}</span>
                      <span className="muted"> · {using.length} subscription{using.length === 1 ? '' : 's'}</span>
                    </summary>
                    <p>{e.description}</p>
                    <dl className="facts">
                      <dt>Owner</dt><dd>{e.owner}</dd>
                      <dt>Subject key</dt><dd>{e.subjectKey ? <code>{e.subjectKey}</code> : '—'} {e.subjectKey && <span className="hint">later events with the same value update the same external record</span>}</dd>
                      <dt>Subscriptions</dt>
                      <dd>{using.length ? using.map((s, i) => <span key={s.id}>{i ? ', ' : ''}<Link to="/subscriptions/$id" params={{ id: s.id }}>{s.name}</Link></span>) : <Link to="/subscriptions/new">none yet: create one</Link>}</dd>
                    </dl>
                    <div className="two-col">
                      <section><h3>Example</h3><pre className="mono box small">{e.example ? JSON.stringify(e.example, null, 2) : '—'}</pre></section>
                      <section><h3>Payload schema</h3><pre className="mono box small">{e.payloadSchema ? JSON.stringify(e.payloadSchema, null, 2) : 'any object'}</pre></section>
                    </div>
                  </details>
                );
              })}
            </div>
          )
        }
      </QueryView>
    </>
  );
}
