import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate, useParams } from '@tanstack/react-router';
import { useState, type FormEvent } from 'react';
import { api } from '../api/client';
import { ApiError, messageOf, unwrap } from '../api/problem';
import type { Subscription } from '../api/types';
import { invalidFields, PickerContext, SchemaForm, withVariantDefaults, type Schema } from '../components/schema-form';
import { ErrorState, Loading } from '../components/states';
import { useConnections, useEvents, useProviders } from '../lib/queries';
import { useCan } from '../lib/session';
import { useFocusFirstInvalid } from '../lib/focus';
import { useNotify } from '../lib/notice';
import { RetryPolicyField, type RetryPolicy } from './retry-policy';
import { PreviewPanel } from './subscription-preview';
import { DeliveriesOverTime } from '../components/chart';

/** The systems events named lately (GET /systems): each a toggle that adds or removes it from the comma-separated list. */
function SystemsPicker({ value, onChange }: { value: string; onChange: (v: string) => void }) {
  const q = useQuery({ queryKey: ['systems'], queryFn: async () => unwrap(await api.GET('/systems', { params: { query: {} } })).items, staleTime: 60_000 });
  const chosen = value.split(/[\s,]+/).filter(Boolean);
  if (!q.data?.length) return q.isSuccess ? <p className="hint">No event has named a system in the last 30 days; type the ids.</p> : null;
  const flip = (sys: string) => onChange((chosen.includes(sys) ? chosen.filter((x) => x !== sys) : [...chosen, sys]).join(', '));
  return (
    <div className="checks" role="group" aria-label="Systems seen in events">
      {q.data.map((sys) => (
        <label key={sys.id} className="switch" title={`${sys.events} events in 30 days`}>
          <input type="checkbox" checked={chosen.includes(sys.id)} onChange={() => flip(sys.id)} /> {sys.id}
        </label>
      ))}
    </div>
  );
}

type Draft = {
  name: string;
  description: string;
  provider: string;
  connectionId: string;
  event: string;
  systemIds: string;
  enabled: boolean;
  retryPolicy: RetryPolicy | null;
  config: Record<string, unknown>;
};

const fromSubscription = (s: Subscription): Draft => ({
  name: s.name,
  description: s.description ?? '',
  provider: s.provider,
  connectionId: s.connectionId ?? '',
  event: s.event,
  systemIds: s.systemIds.join(', '),
  enabled: s.enabled,
  retryPolicy: (s.retryPolicy as RetryPolicy | null) ?? null,
  config: s.config,
});

const EMPTY: Draft = { name: '', description: '', provider: 'webhook', connectionId: '', event: '', systemIds: '', enabled: true, retryPolicy: null, config: {} };

export function SubscriptionNewPage() {
  return <SubscriptionForm initial={EMPTY} />;
}

export function SubscriptionEditPage() {
  const { id } = useParams({ strict: false }) as { id: string };
  const q = useQuery({ queryKey: ['subscription', id], queryFn: async () => unwrap(await api.GET('/subscriptions/{id}', { params: { path: { id } } })) });
  if (q.isPending) return <Loading what="the subscription" />;
  if (q.error) return <ErrorState error={q.error} retry={() => q.refetch()} />;
  return (
    <>
      <SubscriptionForm key={q.data.updatedAt} id={id} initial={fromSubscription(q.data)} />
      <DeliveriesOverTime subscriptionId={id} title="Volume and failures over time" />
      <p><Link to="/deliveries" search={{ subscriptionId: id }}>Its deliveries in the log</Link></p>
    </>
  );
}

/** Create or edit a subscription; the provider's part of the form comes from its configSchema. */
function SubscriptionForm({ id, initial }: { id?: string; initial: Draft }) {
  const can = useCan();
  const qc = useQueryClient();
  const navigate = useNavigate();
  const providers = useProviders();
  const events = useEvents();
  const connections = useConnections();
  const notify = useNotify();
  const [d, setD] = useState<Draft>(initial);
  // what the browser can already tell is wrong (a JSON field that does not parse): nothing is sent until fixed
  const [local, setLocal] = useState<Record<string, string>>({});
  const provider = providers.data?.items.find((p) => p.id === d.provider);
  const body = () => ({
    name: d.name,
    description: d.description || null,
    provider: d.provider,
    connectionId: d.connectionId || null,
    event: d.event,
    systemIds: d.systemIds.split(/[\s,]+/).filter(Boolean),
    enabled: d.enabled,
    retryPolicy: d.retryPolicy,
    config: provider ? (withVariantDefaults(provider.configSchema as Schema, d.config) as Record<string, unknown>) : d.config,
  });
  /** False (and the wrong fields marked and focused) when the form holds something that cannot be sent. */
  const sendable = () => {
    const bad = invalidFields(d.config, 'config');
    setLocal(bad);
    if (Object.keys(bad).length === 0) return true;
    save.reset();
    preview.reset();
    return false;
  };
  // the preview is of the draft it was made for: any change (another provider, a field) hides it
  const draftKey = JSON.stringify(d);
  const preview = useMutation({
    mutationFn: async (_for: string) => unwrap(await api.POST('/subscriptions/preview', { body: { ...body(), ...(id ? { subscriptionId: id } : {}) } })).requests,
  });
  const [extra, setExtra] = useState<string[]>([]);
  const [made, setMade] = useState<string[]>([]);
  const save = useMutation({
    mutationFn: async () => {
      const b = body();
      if (id) return unwrap(await api.PATCH('/subscriptions/{id}', { params: { path: { id } }, body: b }));
      const events = [b.event, ...extra.filter((e) => e !== b.event)];
      if (events.length === 1) return unwrap(await api.POST('/subscriptions', { body: b }));
      // one per event, in order; the first refused one stops (its fields are shown), those made are said
      let first;
      for (const event of events) {
        if (made.includes(event)) continue;
        const s = unwrap(await api.POST('/subscriptions', { body: { ...b, event, name: `${b.name} (${event})` } }));
        setMade((m) => [...m, event]);
        first ??= s;
      }
      return { ...(first ?? { name: b.name, id: '', enabled: b.enabled }), name: `${events.length} subscriptions` } as Subscription;
    },
    onMutate: () => preview.reset(),
    onSuccess: (s) => {
      qc.invalidateQueries({ queryKey: ['subscriptions'] });
      if (s.id) qc.invalidateQueries({ queryKey: ['subscription', s.id] });
      notify(id ? `Saved ${s.name}.` : `Created ${s.name}.${s.enabled ? '' : ' It is off until you switch it on.'}`);
      navigate({ to: '/subscriptions' });
    },
  });
  const test = useMutation({
    mutationFn: async () => unwrap(await api.POST('/subscriptions/{id}/test', { params: { path: { id: id! } } })),
    onSuccess: (r) => navigate({ to: '/deliveries/$id', params: { id: r.deliveryId } }),
  });
  // the last of save and preview to fail says which fields are wrong
  const failed = save.error ?? (preview.variables === draftKey ? preview.error : null);
  const stillBad = invalidFields(d.config, 'config');
  const localNow = Object.fromEntries(Object.entries(local).filter(([path]) => stillBad[path]));
  const errors = { ...(failed instanceof ApiError ? failed.fieldErrors() : {}), ...localNow };
  // keyboard users land on the first field the API (or the form) complained about
  useFocusFirstInvalid(failed ?? (Object.keys(localNow).length ? local : null), 'form.form');
  const unplaced = failed instanceof ApiError ? (failed.problem.errors ?? []).filter((e) => !isShown(e.path.replace(/^body\./, ''), provider?.configSchema as Schema)) : [];
  const readOnly = !can.write;
  const set = (patch: Partial<Draft>) => setD({ ...d, ...patch });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (sendable()) save.mutate();
  };
  const err = (path: string) => errors[path] && <p className="field-error" role="alert" id={`f-${path}-error`}>{errors[path]}</p>;
  return (
    <form className="form" onSubmit={submit} noValidate aria-labelledby="form-title">
      <p><Link to="/subscriptions">← Subscriptions</Link></p>
      <h1 id="form-title">{id ? (readOnly ? initial.name : `Edit ${initial.name}`) : 'New subscription'}</h1>
      <div className="field">
        <label htmlFor="f-name">Name *</label>
        <input id="f-name" value={d.name} readOnly={readOnly} aria-invalid={Boolean(errors.name)} onChange={(e) => set({ name: e.target.value })} />
        {err('name')}
      </div>
      <div className="field">
        <label htmlFor="f-description">Description</label>
        <input id="f-description" value={d.description} readOnly={readOnly} onChange={(e) => set({ description: e.target.value })} />
        {err('description')}
      </div>
      <div className="field">
        <label htmlFor="f-event">Event *</label>
        <select id="f-event" value={d.event} disabled={readOnly} aria-invalid={Boolean(errors.event)} onChange={(e) => set({ event: e.target.value })}>
          <option value="">choose an event…</option>
          {(events.data ?? []).map((e) => <option key={e.id} value={e.id}>{e.id} — {e.displayName}</option>)}
        </select>
        {err('event')}
        {!id && !readOnly && d.event && (
          <details className="more-events" open={extra.length > 0}>
            <summary>Also for other events (one subscription each)</summary>
            <div className="checks" role="group" aria-label="More events">
              {(events.data ?? []).filter((e) => e.id !== d.event).map((e) => (
                <label key={e.id} className="switch">
                  <input type="checkbox" checked={extra.includes(e.id)} onChange={() => setExtra((x) => (x.includes(e.id) ? x.filter((y) => y !== e.id) : [...x, e.id]))} /> {e.id}
                </label>
              ))}
            </div>
            {extra.length > 0 && <p className="hint">Creates {extra.length + 1} subscriptions with the same settings, named “{d.name || 'name'} ({d.event})” and so on.</p>}
          </details>
        )}
      </div>
      <div className="field">
        <label htmlFor="f-provider">Provider *</label>
        <select id="f-provider" value={d.provider} disabled={readOnly || Boolean(id)} onChange={(e) => set({ provider: e.target.value, config: {}, connectionId: '' })}>
          {(providers.data?.items ?? []).map((p) => <option key={p.id} value={p.id} disabled={!p.enabled}>{p.displayName}{p.enabled ? '' : ' (disabled)'}</option>)}
        </select>
        {provider && <p className="hint">{provider.description}</p>}
        {err('provider')}
      </div>
      {provider && provider.connection !== 'none' && (
        <div className="field">
          <label htmlFor="f-connectionId">Connection{provider.connection === 'required' ? ' *' : ''}</label>
          <select id="f-connectionId" value={d.connectionId} disabled={readOnly} aria-invalid={Boolean(errors.connectionId)} onChange={(e) => set({ connectionId: e.target.value })}>
            <option value="">{provider.connection === 'required' ? 'choose a connection…' : 'none'}</option>
            {(connections.data ?? []).filter((c) => c.provider === provider.id).map((c) => <option key={c.id} value={c.id}>{c.name}</option>)}
          </select>
          {can.connections && connections.isSuccess && !(connections.data ?? []).some((c) => c.provider === provider.id) ? (
            <p className="hint" data-testid="no-connection">
              No {provider.displayName} connection yet: <Link to="/connections">create one on the Connections page</Link> (New connection,
              provider {provider.displayName}), then pick it here.
            </p>
          ) : (
            can.connections && <p className="hint"><Link to="/connections">Manage connections</Link></p>
          )}
          {err('connectionId')}
        </div>
      )}
      <div className="field">
        <label htmlFor="f-systemIds">Systems</label>
        <input id="f-systemIds" value={d.systemIds} readOnly={readOnly} placeholder="empty = every system; else comma-separated ids" onChange={(e) => set({ systemIds: e.target.value })} />
        {!readOnly && <SystemsPicker value={d.systemIds} onChange={(systemIds) => set({ systemIds })} />}
        {err('systemIds')}
      </div>
      <div className="field checkbox">
        <label><input type="checkbox" checked={d.enabled} disabled={readOnly} onChange={(e) => set({ enabled: e.target.checked })} /> Enabled</label>
      </div>
      <RetryPolicyField value={d.retryPolicy} onChange={(retryPolicy) => set({ retryPolicy })} errors={errors} readOnly={readOnly} />
      {provider && (
        <fieldset className="nested">
          <legend>{provider.displayName} settings</legend>
          <PickerContext.Provider value={{ connectionId: d.connectionId || undefined, root: d.config, enabled: can.connections }}>
            <SchemaForm schema={provider.configSchema as Schema} value={d.config} onChange={(config) => set({ config })} path="config" errors={errors} readOnly={readOnly} />
          </PickerContext.Provider>
          {err('config')}
        </fieldset>
      )}
      {Object.keys(localNow).length > 0 && (
        <div className="form-error" role="alert" tabIndex={-1} data-testid="local-errors">
          <p>Nothing was sent: fix the marked {Object.keys(localNow).length === 1 ? 'field' : 'fields'} first.</p>
          <ul>{Object.entries(localNow).map(([path, message]) => <li key={path}><code>{path}</code>: {message}</li>)}</ul>
        </div>
      )}
      {failed && (
        <div className="form-error" role="alert" tabIndex={-1}>
          {made.length > 0 && <p data-testid="made">Created already: {made.join(', ')}. Fix the settings and create again for the rest.</p>}
          <p>{messageOf(failed)}</p>
          {unplaced.length > 0 && <ul>{unplaced.map((e) => <li key={e.path}><code>{e.path}</code>: {e.message}</li>)}</ul>}
        </div>
      )}
      {preview.data && !preview.error && preview.variables === draftKey && <PreviewPanel requests={preview.data} />}
      {!readOnly && (
        <div className="actions">
          <button type="submit" className="primary" disabled={save.isPending}>{id ? 'Save' : 'Create subscription'}</button>
          <button type="button" onClick={() => { save.reset(); if (sendable()) preview.mutate(draftKey); }} disabled={preview.isPending}>Preview</button>
          {id && <button type="button" onClick={() => test.mutate()} disabled={test.isPending}>Test send</button>}
          {test.error && <span className="field-error" role="alert">{messageOf(test.error)}</span>}
        </div>
      )}
    </form>
  );
}

const TOP = new Set(['name', 'description', 'provider', 'connectionId', 'event', 'systemIds', 'enabled', 'config']);

/** Whether the form has a field showing errors at `path` (the rest are listed under the form). */
function isShown(path: string, schema: Schema | undefined): boolean {
  if (TOP.has(path) || path.startsWith('retryPolicy')) return true;
  if (!path.startsWith('config.') || !schema) return false;
  let node: Schema | undefined = schema;
  for (const seg of path.split('.').slice(1)) {
    const branches: Schema[] = node?.anyOf ?? node?.oneOf ?? [];
    node = node?.properties?.[seg] ?? branches.map((b) => b.properties?.[seg]).find(Boolean);
    if (!node) return false;
  }
  return true;
}
