import { useEffect, useState, type FormEvent } from 'react';
import { DELIVERY_STATUSES, type Subscription } from '../api/types';
import { fromLocalInput, toLocalInput } from '../lib/format';
import { useEvents, useProviders } from '../lib/queries';
import type { LogSearch } from './deliveries';

/** How long typing in a text filter pauses before it applies. */
const TYPING_PAUSE_MS = 500;

/** The log's filters: each change goes into the URL at once (text fields once typing pauses, or on Enter / Apply). */
export function LogFilters({ search, onChange, subscriptions }: { search: LogSearch; onChange: (s: LogSearch) => void; subscriptions: Subscription[] }) {
  const events = useEvents();
  const providers = useProviders();
  const statuses = new Set((search.status ?? '').split(',').filter(Boolean));
  const [text, setText] = useState({ search: search.search ?? '', systemId: search.systemId ?? '' });
  const set = (patch: Partial<LogSearch>) => onChange({ ...search, ...patch });
  const toggle = (st: string) => {
    const next = new Set(statuses);
    if (next.has(st)) next.delete(st);
    else next.add(st);
    set({ status: DELIVERY_STATUSES.filter((s) => next.has(s)).join(',') || undefined });
  };
  const applyText = () => {
    const next = { search: text.search.trim() || undefined, systemId: text.systemId.trim() || undefined };
    if (next.search !== search.search || next.systemId !== search.systemId) set(next);
  };
  // like the other filters, typed ones apply by themselves: shortly after the typing stops
  useEffect(() => {
    const t = setTimeout(applyText, TYPING_PAUSE_MS);
    return () => clearTimeout(t);
  }, [text.search, text.systemId]); // eslint-disable-line react-hooks/exhaustive-deps
  const apply = (e: FormEvent) => {
    e.preventDefault();
    applyText();
  };
  return (
    <form className="filters" onSubmit={apply} aria-label="Filters">
      <fieldset className="statuses">
        <legend>Status</legend>
        {DELIVERY_STATUSES.map((st) => (
          <label key={st} className="chip">
            <input type="checkbox" name="status" value={st} checked={statuses.has(st)} onChange={() => toggle(st)} /> {st}
          </label>
        ))}
      </fieldset>
      <div className="field">
        <label htmlFor="flt-sub">Subscription</label>
        <select id="flt-sub" value={search.subscriptionId ?? ''} onChange={(e) => set({ subscriptionId: e.target.value || undefined })}>
          <option value="">any</option>
          {subscriptions.map((s) => (
            <option key={s.id} value={s.id}>{s.name}</option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor="flt-event">Event</label>
        <select id="flt-event" value={search.event ?? ''} onChange={(e) => set({ event: e.target.value || undefined })}>
          <option value="">any</option>
          {(events.data ?? []).map((e) => (
            <option key={e.id} value={e.id}>{e.id}</option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor="flt-provider">Provider</label>
        <select id="flt-provider" value={search.provider ?? ''} onChange={(e) => set({ provider: e.target.value || undefined })}>
          <option value="">any</option>
          {(providers.data?.items ?? []).map((p) => (
            <option key={p.id} value={p.id}>{p.displayName}</option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor="flt-since">From</label>
        <input id="flt-since" type="datetime-local" value={toLocalInput(search.since)} onChange={(e) => set({ since: fromLocalInput(e.target.value) })} />
      </div>
      <div className="field">
        <label htmlFor="flt-until">Until</label>
        <input id="flt-until" type="datetime-local" value={toLocalInput(search.until)} onChange={(e) => set({ until: fromLocalInput(e.target.value) })} />
      </div>
      <div className="field">
        <label htmlFor="flt-system">System</label>
        <input id="flt-system" value={text.systemId} onChange={(e) => setText({ ...text, systemId: e.target.value })} placeholder="system id" />
      </div>
      <div className="field grow">
        <label htmlFor="flt-search">Find by id</label>
        <input id="flt-search" type="search" value={text.search} onChange={(e) => setText({ ...text, search: e.target.value })} placeholder="delivery, emission or external id" />
      </div>
      <div className="filter-actions">
        <button type="submit">Apply</button>
        <button type="button" className="ghost" onClick={() => { setText({ search: '', systemId: '' }); onChange({}); }}>
          Clear
        </button>
      </div>
    </form>
  );
}
