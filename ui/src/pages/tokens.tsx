import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api } from '../api/client';
import { ApiError, messageOf, unwrap } from '../api/problem';
import type { Role } from '../api/types';
import { Confirm } from '../components/dialog';
import { Empty, QueryView } from '../components/states';

const ROLES: Role[] = ['viewer', 'manager', 'admin', 'ingest'];

/** API tokens (admin): a new token is shown once, with a copy button; revoking ends its UI sessions too. */
export function TokensPage() {
  const qc = useQueryClient();
  const tokens = useQuery({ queryKey: ['tokens'], queryFn: async () => unwrap(await api.GET('/tokens')).items });
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const [owners, setOwners] = useState('');
  const [created, setCreated] = useState<{ id: string; token: string } | undefined>();
  const [copied, setCopied] = useState(false);
  const [revoking, setRevoking] = useState<string | undefined>();
  const create = useMutation({
    mutationFn: async () => unwrap(await api.POST('/tokens', { body: { name, role, ...(role === 'ingest' && owners.trim() ? { owners: owners.split(/[\s,]+/).filter(Boolean) } : {}) } })),
    onSuccess: (t) => { setCreated(t); setCopied(false); setName(''); qc.invalidateQueries({ queryKey: ['tokens'] }); },
  });
  const revoke = useMutation({
    mutationFn: async (id: string) => unwrap(await api.DELETE('/tokens/{id}', { params: { path: { id } } })),
    onSuccess: () => { setRevoking(undefined); qc.invalidateQueries({ queryKey: ['tokens'] }); },
  });
  const errors = create.error instanceof ApiError ? create.error.fieldErrors() : {};
  const submit = (e: FormEvent) => { e.preventDefault(); create.mutate(); };
  return (
    <>
      <h1>Tokens</h1>
      <form className="inline-form" onSubmit={submit} aria-label="New token" noValidate>
        <div className="field">
          <label htmlFor="t-name">Name</label>
          <input id="t-name" value={name} onChange={(e) => setName(e.target.value)} aria-invalid={Boolean(errors.name)} />
          {errors.name && <p className="field-error" role="alert">{errors.name}</p>}
        </div>
        <div className="field">
          <label htmlFor="t-role">Role</label>
          <select id="t-role" value={role} onChange={(e) => setRole(e.target.value as Role)}>{ROLES.map((r) => <option key={r}>{r}</option>)}</select>
        </div>
        {role === 'ingest' && (
          <div className="field">
            <label htmlFor="t-owners">Event owners (empty = any)</label>
            <input id="t-owners" value={owners} onChange={(e) => setOwners(e.target.value)} placeholder="incident, maintenance" />
          </div>
        )}
        <button type="submit" className="primary" disabled={create.isPending}>Create token</button>
      </form>
      {created && (
        <div className="once" role="status">
          <p><strong>Copy this token now: it is shown only once.</strong></p>
          <code data-testid="new-token">{created.token}</code>{' '}
          <button type="button" onClick={() => navigator.clipboard.writeText(created.token).then(() => setCopied(true), () => setCopied(false))}>{copied ? 'Copied' : 'Copy'}</button>{' '}
          <button type="button" className="ghost" onClick={() => setCreated(undefined)}>Done</button>
        </div>
      )}
      {create.error && !Object.keys(errors).length && <p className="field-error" role="alert">{messageOf(create.error)}</p>}
      <QueryView q={tokens} what="tokens">
        {(items) =>
          items.length === 0 ? <Empty>No stored tokens; only the bootstrap tokens from the environment work.</Empty> : (
            <div className="table-wrap">
              <table>
                <thead><tr><th scope="col">Name</th><th scope="col">Role</th><th scope="col" className="wide-only">Owners</th><th scope="col">Created</th><th scope="col"><span className="sr-only">Actions</span></th></tr></thead>
                <tbody>
                  {items.map((t) => (
                    <tr key={t.id}>
                      <th scope="row">{t.name}</th>
                      <td>{t.role}</td>
                      <td className="wide-only">{t.owners.join(', ') || '—'}</td>
                      <td>{new Date(t.createdAt).toLocaleString()}</td>
                      <td><button type="button" className="danger" onClick={() => setRevoking(t.id)}>Revoke</button></td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </QueryView>
      <Confirm open={Boolean(revoking)} title="Revoke token?" confirmLabel="Revoke" busy={revoke.isPending} onClose={() => setRevoking(undefined)} onConfirm={() => revoke.mutate(revoking!)}>
        <p>Clients using it get 401 from now on, and admin UI sessions opened with it end. {revoke.error ? messageOf(revoke.error) : ''}</p>
      </Confirm>
    </>
  );
}
