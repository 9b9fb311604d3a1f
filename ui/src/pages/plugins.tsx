import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api } from '../api/client';
import { messageOf, unwrap } from '../api/problem';
import type { Provider } from '../api/types';
import { QueryView } from '../components/states';
import { useProviders } from '../lib/queries';
import { useCan } from '../lib/session';

/** Every provider (built-in or plugin) with where it comes from, its switch, and plugins that failed to load. */
export function PluginsPage() {
  const providers = useProviders();
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
            <div className="table-wrap">
              <table>
                <thead><tr><th scope="col">Provider</th><th scope="col">Source</th><th scope="col" className="wide-only">Follow-ups</th><th scope="col">Enabled</th></tr></thead>
                <tbody>{data.items.map((p) => <Row key={p.id} p={p} />)}</tbody>
              </table>
            </div>
            <p className="hint">Install a plugin by naming its package or folder in <code>PROVIDER_PLUGINS</code> and restarting the API and the workers.</p>
          </>
        )}
      </QueryView>
    </>
  );
}

function Row({ p }: { p: Provider }) {
  const can = useCan();
  const qc = useQueryClient();
  const toggle = useMutation({
    mutationFn: async () => unwrap(await api.PATCH('/providers/{id}', { params: { path: { id: p.id } }, body: { enabled: !p.enabled } })),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['providers'] }),
  });
  return (
    <tr>
      <th scope="row">{p.displayName} <code className="muted">{p.id}</code><p className="hint">{p.description}</p>{toggle.error && <p className="field-error" role="alert">{messageOf(toggle.error)}</p>}</th>
      <td><code>{p.source}</code></td>
      <td className="wide-only">{p.followUps ? 'yes' : 'no'}</td>
      <td>
        {can.admin ? (
          <label className="switch">
            <input type="checkbox" role="switch" checked={p.enabled} disabled={toggle.isPending} onChange={() => toggle.mutate()} aria-label={`Enabled: ${p.displayName}`} />
            <span>{p.enabled ? 'on' : 'off'}</span>
          </label>
        ) : p.enabled ? 'on' : 'off'}
      </td>
    </tr>
  );
}
