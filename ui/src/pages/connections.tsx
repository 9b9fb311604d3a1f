import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api } from '../api/client';
import { ApiError, messageOf, unwrap } from '../api/problem';
import type { Connection } from '../api/types';
import { Confirm, Dialog } from '../components/dialog';
import { invalidFields, SchemaForm, withVariantDefaults, type Schema } from '../components/schema-form';
import { Empty, QueryView } from '../components/states';
import { useConnections, useProviders } from '../lib/queries';
import { useFocusFirstInvalid } from '../lib/focus';
import { useNotify } from '../lib/notice';

/** Shared, encrypted credentials (Jira, Slack bot, Webex, ...): list, create/edit, test, delete. */
export function ConnectionsPage() {
  const connections = useConnections();
  const providers = useProviders();
  const [editing, setEditing] = useState<Connection | 'new' | undefined>();
  const withConnections = (providers.data?.items ?? []).filter((p) => p.connectionSchema);
  return (
    <>
      <div className="page-head">
        <h1>Connections</h1>
        <button type="button" className="primary" onClick={() => setEditing('new')} disabled={!withConnections.length}>New connection</button>
      </div>
      <QueryView q={connections} what="connections">
        {(items) =>
          items.length === 0 ? (
            <Empty>No connection yet. Providers such as {withConnections.map((p) => p.displayName).join(', ')} share credentials through one: create it here, then pick it in a subscription.</Empty>
          ) : (
            <div className="table-wrap">
              <table>
                <thead><tr><th scope="col">Name</th><th scope="col">Provider</th><th scope="col">Updated</th><th scope="col"><span className="sr-only">Actions</span></th></tr></thead>
                <tbody>{items.map((c) => <Row key={c.id} c={c} onEdit={() => setEditing(c)} />)}</tbody>
              </table>
            </div>
          )
        }
      </QueryView>
      {editing && <ConnectionDialog editing={editing} onClose={() => setEditing(undefined)} />}
    </>
  );
}

function Row({ c, onEdit }: { c: Connection; onEdit: () => void }) {
  const qc = useQueryClient();
  const [confirm, setConfirm] = useState(false);
  const test = useMutation({ mutationFn: async () => unwrap(await api.POST('/connections/{id}/test', { params: { path: { id: c.id } } })) });
  const remove = useMutation({
    mutationFn: async () => unwrap(await api.DELETE('/connections/{id}', { params: { path: { id: c.id } } })),
    onSuccess: () => { setConfirm(false); qc.invalidateQueries({ queryKey: ['connections'] }); },
  });
  const inUse = remove.error instanceof ApiError && remove.error.status === 409;
  return (
    <tr>
      <th scope="row">
        {c.name}
        {test.data && <p role="status" className={test.data.ok ? 'ok' : 'field-error'}>{test.data.ok ? '✓' : '✗'} {test.data.message}</p>}
        {test.error && <p role="alert" className="field-error">{messageOf(test.error)}</p>}
      </th>
      <td>{c.provider}</td>
      <td>{new Date(c.updatedAt).toLocaleString()}</td>
      <td className="row-actions">
        <button type="button" onClick={() => test.mutate()} disabled={test.isPending}>{test.isPending ? 'Testing…' : 'Test'}</button>
        <button type="button" onClick={onEdit}>Edit</button>
        <button type="button" className="danger" onClick={() => setConfirm(true)}>Delete</button>
        <Confirm open={confirm} title={`Delete ${c.name}?`} confirmLabel="Delete" busy={remove.isPending} onClose={() => { setConfirm(false); remove.reset(); }} onConfirm={() => remove.mutate()}>
          {inUse ? (
            <p role="alert" className="field-error">This connection is still used by subscriptions ({messageOf(remove.error)}). Point them at another connection or delete them first.</p>
          ) : (
            <p>Subscriptions can no longer use these credentials. {remove.error ? messageOf(remove.error) : ''}</p>
          )}
        </Confirm>
      </td>
    </tr>
  );
}

function ConnectionDialog({ editing, onClose }: { editing: Connection | 'new'; onClose: () => void }) {
  const qc = useQueryClient();
  const providers = (useProviders().data?.items ?? []).filter((p) => p.connectionSchema);
  const existing = editing === 'new' ? undefined : editing;
  const notify = useNotify();
  const [name, setName] = useState(existing?.name ?? '');
  const [provider, setProvider] = useState(existing?.provider ?? providers[0]?.id ?? '');
  const [config, setConfig] = useState<Record<string, unknown>>(existing?.config ?? {});
  const schema = providers.find((p) => p.id === provider)?.connectionSchema as Schema | undefined;
  // the kind shown selected (e.g. Flavor: cloud) is sent even when nobody touched the picker
  const toSend = () => (schema ? (withVariantDefaults(schema, config) as Record<string, unknown>) : config);
  const save = useMutation({
    mutationFn: async () =>
      existing
        ? unwrap(await api.PATCH('/connections/{id}', { params: { path: { id: existing.id } }, body: { name, config: toSend() } }))
        : unwrap(await api.POST('/connections', { body: { name, provider, config: toSend() } })),
    onSuccess: (c) => { qc.invalidateQueries({ queryKey: ['connections'] }); notify(existing ? `Saved ${c.name}.` : `Created ${c.name}: pick it in a subscription, or Test it here.`); onClose(); },
  });
  const local = invalidFields(config, 'config');
  const [triedLocal, setTriedLocal] = useState<object | null>(null);
  const errors = { ...(save.error instanceof ApiError ? save.error.fieldErrors() : {}), ...(triedLocal ? local : {}) };
  const placed = (path: string) => path === 'name' || Boolean(document.getElementById(`f-${path.replace(/[^A-Za-z0-9_-]/g, '-')}`));
  const unplaced = save.error instanceof ApiError ? (save.error.problem.errors ?? []).filter((e) => !placed(e.path.replace(/^body\./, ''))) : [];
  useFocusFirstInvalid(save.error ?? (triedLocal && Object.keys(local).length ? triedLocal : null), 'dialog form');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (Object.keys(local).length) { setTriedLocal({}); save.reset(); return; }
    save.mutate();
  };
  return (
    <Dialog open title={existing ? `Edit ${existing.name}` : 'New connection'} onClose={onClose}>
      <form className="dialog-body form" onSubmit={submit} noValidate>
        <div className="field">
          <label htmlFor="c-name">Name *</label>
          <input id="c-name" value={name} onChange={(e) => setName(e.target.value)} aria-invalid={Boolean(errors.name)} />
          {errors.name && <p className="field-error" role="alert">{errors.name}</p>}
        </div>
        <div className="field">
          <label htmlFor="c-provider">Provider</label>
          <select id="c-provider" value={provider} disabled={Boolean(existing)} onChange={(e) => { setProvider(e.target.value); setConfig({}); }}>
            {providers.map((p) => <option key={p.id} value={p.id}>{p.displayName}</option>)}
          </select>
        </div>
        {schema && <SchemaForm schema={schema} value={config} onChange={setConfig} path="config" errors={errors} />}
        {save.error && (
          <div className="form-error" role="alert" tabIndex={-1}>
            <p>{messageOf(save.error)}</p>
            {unplaced.length > 0 && <ul>{unplaced.map((e) => <li key={e.path}><code>{e.path}</code>: {e.message}</li>)}</ul>}
          </div>
        )}
        <footer className="dialog-actions">
          <button type="button" onClick={onClose}>Cancel</button>
          <button type="submit" className="primary" disabled={save.isPending}>Save</button>
        </footer>
      </form>
    </Dialog>
  );
}
