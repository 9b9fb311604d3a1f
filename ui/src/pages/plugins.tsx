import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api } from '../api/client';
import { ApiError, messageOf, unwrap } from '../api/problem';
import type { components } from '../api/schema.gen';
import type { Provider } from '../api/types';
import { Confirm } from '../components/dialog';
import { QueryView } from '../components/states';
import { when } from '../lib/format';
import { useProviders, useSubscriptions } from '../lib/queries';
import { useCan } from '../lib/session';
import { useNotify } from '../lib/notice';

type Plugin = components['schemas']['Plugin'];

/**
 * Providers and the Plugin Manager: every provider (built-in or plugin) with its source and switch (switching one
 * off warns about its subscriptions), plugins that failed to load, and (admins and managers) the plugins installed
 * at run time: install from the registry or an uploaded tarball when PLUGIN_INSTALL_ENABLED is on, uninstall
 * after a preview of what it pauses.
 */
export function PluginsPage() {
  const providers = useProviders();
  const can = useCan();
  return (
    <>
      <h1>Plugins</h1>
      <QueryView q={providers} what="providers">
        {(data) => (
          <>
            {data.loadErrors.length > 0 && (
              <section className="form-error" role="alert" aria-labelledby="load-errors">
                <h2 id="load-errors">Plugins that failed to load</h2>
                <ul>{data.loadErrors.map((e) => <li key={e.plugin}><code>{e.plugin}</code>: {e.error}</li>)}</ul>
              </section>
            )}
            <h2>Providers</h2>
            <div className="table-wrap">
              <table>
                <thead><tr><th scope="col">Provider</th><th scope="col">Source</th><th scope="col" className="wide-only">Follow-ups</th><th scope="col">Enabled</th></tr></thead>
                <tbody>{data.items.map((p) => <Row key={p.id} p={p} />)}</tbody>
              </table>
            </div>
            <p className="hint">A plugin can also be loaded at start by naming its package or folder in <code>PROVIDER_PLUGINS</code> (restart the API and the workers).</p>
          </>
        )}
      </QueryView>
      {can.write && <PluginManager />}
    </>
  );
}

function Row({ p }: { p: Provider }) {
  const can = useCan();
  const qc = useQueryClient();
  const subs = useSubscriptions();
  const [asking, setAsking] = useState(false);
  const toggle = useMutation({
    mutationFn: async () => unwrap(await api.PATCH('/providers/{id}', { params: { path: { id: p.id } }, body: { enabled: !p.enabled } })),
    onSuccess: () => { setAsking(false); qc.invalidateQueries({ queryKey: ['providers'] }); },
  });
  const using = (subs.data ?? []).filter((s) => s.provider === p.id);
  return (
    <tr data-testid="provider-row" data-id={p.id}>
      <th scope="row">{p.displayName} <code className="muted">{p.id}</code><p className="hint">{p.description}</p>{toggle.error && <p className="field-error" role="alert">{messageOf(toggle.error)}</p>}</th>
      <td><code>{p.source}</code></td>
      <td className="wide-only">{p.followUps ? 'yes' : 'no'}</td>
      <td>
        {can.admin ? (
          <label className="switch">
            <input type="checkbox" role="switch" checked={p.enabled} disabled={toggle.isPending}
              onChange={() => (p.enabled && using.length > 0 ? setAsking(true) : toggle.mutate())} aria-label={`Enabled: ${p.displayName}`} />
            <span>{p.enabled ? 'on' : 'off'}</span>
          </label>
        ) : p.enabled ? 'on' : 'off'}
        <Confirm open={asking} title={`Disable ${p.displayName}?`} confirmLabel="Disable" busy={toggle.isPending} onClose={() => setAsking(false)} onConfirm={() => toggle.mutate()}>
          <p data-testid="disable-warning">
            {using.length === 1 ? 'One subscription uses' : `${using.length} subscriptions use`} this provider. While it is off their
            deliveries stop with <code>provider_disabled</code> (nothing is dropped; redeliver them once it is on again):
          </p>
          <ul>{using.map((s) => <li key={s.id}>{s.name} <span className="muted">({s.event}{s.enabled ? '' : ', off'})</span></li>)}</ul>
        </Confirm>
      </td>
    </tr>
  );
}

/** Plugins installed at run time (GET /plugins), the install form (admin, when switched on), uninstall with its preview. */
function PluginManager() {
  const can = useCan();
  const q = useQuery({ queryKey: ['plugins'], queryFn: async () => unwrap(await api.GET('/plugins')) });
  return (
    <section aria-labelledby="plugin-manager">
      <h2 id="plugin-manager">Plugin Manager</h2>
      <QueryView q={q} what="plugins">
        {(data) => (
          <>
            {data.installEnabled ? (
              can.admin ? <InstallForm /> : <p className="hint">An admin can install provider plugins here.</p>
            ) : (
              <p className="hint" data-testid="install-off">Installing plugins at run time is switched off (<code>PLUGIN_INSTALL_ENABLED</code>); an operator can turn it on.</p>
            )}
            {data.items.length === 0 ? (
              <p className="muted">No plugin has been installed at run time.</p>
            ) : (
              <div className="table-wrap">
                <table>
                  <thead><tr><th scope="col">Package</th><th scope="col">Status</th><th scope="col">Providers</th><th scope="col" className="wide-only">Installed</th>{can.admin && <th scope="col"><span className="sr-only">Actions</span></th>}</tr></thead>
                  <tbody>{data.items.map((p) => <PluginRow key={p.id} p={p} />)}</tbody>
                </table>
              </div>
            )}
          </>
        )}
      </QueryView>
    </section>
  );
}

function InstallForm() {
  const qc = useQueryClient();
  const notify = useNotify();
  const [from, setFrom] = useState<'registry' | 'upload'>('registry');
  const [pkg, setPkg] = useState('');
  const [version, setVersion] = useState('');
  const [file, setFile] = useState<File>();
  const install = useMutation({
    mutationFn: async () => {
      const body = from === 'registry' ? { package: pkg.trim(), version: version.trim() } : { tarball: await base64Of(file!) };
      return unwrap(await api.POST('/plugins', { body }));
    },
    onSuccess: (p) => {
      qc.invalidateQueries({ queryKey: ['plugins'] });
      qc.invalidateQueries({ queryKey: ['providers'] });
      notify(p.status === 'installed' ? `Installed ${p.package}@${p.version}: ${p.providers.join(', ')}.` : `${p.package}@${p.version} did not load: ${p.loadError}`);
      setPkg(''); setVersion(''); setFile(undefined);
    },
  });
  const errors = install.error instanceof ApiError ? install.error.fieldErrors() : {};
  const submit = (e: FormEvent) => { e.preventDefault(); install.mutate(); };
  return (
    <form className="inline-form" onSubmit={submit} aria-label="Install a plugin" noValidate>
      <fieldset className="plain-fieldset">
        <legend className="sr-only">From</legend>
        <label className="switch"><input type="radio" name="from" checked={from === 'registry'} onChange={() => setFrom('registry')} /> From the registry</label>{' '}
        <label className="switch"><input type="radio" name="from" checked={from === 'upload'} onChange={() => setFrom('upload')} /> Upload a tarball</label>
      </fieldset>
      {from === 'registry' ? (
        <>
          <div className="field">
            <label htmlFor="f-package">Package</label>
            <input id="f-package" value={pkg} placeholder="@acme/hub-provider-x" aria-invalid={Boolean(errors.package)} onChange={(e) => setPkg(e.target.value)} />
            {errors.package && <p className="field-error" role="alert">{errors.package}</p>}
          </div>
          <div className="field">
            <label htmlFor="f-version">Version</label>
            <input id="f-version" value={version} placeholder="1.2.3" aria-invalid={Boolean(errors.version)} onChange={(e) => setVersion(e.target.value)} />
            {errors.version && <p className="field-error" role="alert">{errors.version}</p>}
          </div>
        </>
      ) : (
        <div className="field">
          <label htmlFor="f-tarball">Package tarball (.tgz, from <code>npm pack</code>)</label>
          <input id="f-tarball" type="file" accept=".tgz,application/gzip" onChange={(e) => setFile(e.target.files?.[0])} />
          {errors.tarball && <p className="field-error" role="alert">{errors.tarball}</p>}
        </div>
      )}
      <button type="submit" className="primary" disabled={install.isPending || (from === 'registry' ? !pkg || !version : !file)}>
        {install.isPending ? 'Installing…' : 'Install'}
      </button>
      {install.error && <p className="field-error" role="alert" data-testid="install-error">{messageOf(install.error)}</p>}
    </form>
  );
}

function PluginRow({ p }: { p: Plugin }) {
  const can = useCan();
  const qc = useQueryClient();
  const notify = useNotify();
  const [asking, setAsking] = useState(false);
  const preview = useQuery({
    queryKey: ['plugin-preview', p.id],
    enabled: asking,
    queryFn: async () => unwrap(await api.GET('/plugins/{id}/uninstall-preview', { params: { path: { id: p.id } } })),
  });
  const uninstall = useMutation({
    mutationFn: async () => unwrap(await api.DELETE('/plugins/{id}', { params: { path: { id: p.id } } })),
    onSuccess: (r) => {
      setAsking(false);
      ['plugins', 'providers', 'subscriptions'].forEach((k) => qc.invalidateQueries({ queryKey: [k] }));
      notify(`Uninstalled ${p.package}; ${r.subscriptions.length} subscriptions paused.`);
    },
  });
  return (
    <tr data-testid="plugin-row" data-id={p.id} data-status={p.status}>
      <th scope="row"><code>{p.package}@{p.version}</code><p className="hint">{p.origin}</p>{p.loadError && <p className="field-error">{p.loadError}</p>}</th>
      <td>{p.status}</td>
      <td>{p.providers.join(', ') || '—'}</td>
      <td className="wide-only">{when(p.installedAt)}</td>
      {can.admin && (
        <td>
          {p.status !== 'uninstalled' && <button type="button" className="danger" onClick={() => setAsking(true)}>Uninstall…</button>}
          <Confirm open={asking} title={`Uninstall ${p.package}?`} confirmLabel="Uninstall" busy={uninstall.isPending || !preview.data} onClose={() => setAsking(false)} onConfirm={() => uninstall.mutate()}>
            <QueryView q={preview} what="what it pauses">
              {(v) => (
                <div data-testid="uninstall-preview">
                  <p>Providers removed: {v.providers.map((x) => <code key={x}>{x} </code>)}</p>
                  {v.subscriptions.length ? (
                    <>
                      <p>{v.subscriptions.length === 1 ? 'This subscription is paused' : `These ${v.subscriptions.length} subscriptions are paused`} (their settings are kept; installing the package again resumes them):</p>
                      <ul>{v.subscriptions.map((s) => <li key={s.id}>{s.name}</li>)}</ul>
                    </>
                  ) : <p>No subscription uses it.</p>}
                  {v.connections.length > 0 && <p>Connections kept: {v.connections.map((c) => c.name).join(', ')}.</p>}
                  <p>{v.deliveriesInFlight} {v.deliveriesInFlight === 1 ? 'delivery' : 'deliveries'} in flight stop until it is back.</p>
                </div>
              )}
            </QueryView>
            {uninstall.error && <p className="field-error" role="alert">{messageOf(uninstall.error)}</p>}
          </Confirm>
        </td>
      )}
    </tr>
  );
}

/** The file's bytes as base64 (POST /plugins takes the tarball so). */
function base64Of(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result).replace(/^data:[^,]*,/, ''));
    r.onerror = () => reject(new Error('The file could not be read'));
    r.readAsDataURL(file);
  });
}
