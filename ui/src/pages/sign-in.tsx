import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, setCsrfToken } from '../api/client';
import { ApiError, messageOf, unwrap } from '../api/problem';

/** Sign in with an API token (admin, manager or viewer); the API answers with an HttpOnly session cookie. */
export function SignIn() {
  const qc = useQueryClient();
  const [token, setToken] = useState('');
  const signIn = useMutation({
    mutationFn: async () => unwrap(await api.POST('/session', { body: { token } })),
    onSuccess: (s) => {
      setCsrfToken(s.csrfToken);
      qc.setQueryData(['session'], s);
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    signIn.mutate();
  };
  const fieldError = signIn.error instanceof ApiError ? signIn.error.fieldErrors().token : undefined;
  return (
    <main className="sign-in">
      <form onSubmit={submit} aria-labelledby="sign-in-title">
        <h1 id="sign-in-title">Integrations Hub</h1>
        <p>Sign in with an API token. With <code>npm start</code> the admin token is the <code>ADMIN_TOKEN</code> you set, else the one written to <code>.data/dev-secrets.json</code> (that one is refused while <code>ADMIN_TOKEN</code> is set).</p>
        <div className="field">
          <label htmlFor="token">API token</label>
          <input id="token" type="password" autoComplete="off" autoFocus value={token} onChange={(e) => setToken(e.target.value)} aria-invalid={Boolean(signIn.error)} />
          {signIn.error && (
            <p className="field-error" role="alert">
              {fieldError ?? messageOf(signIn.error)}
            </p>
          )}
        </div>
        <button type="submit" className="primary" disabled={!token || signIn.isPending}>
          Sign in
        </button>
      </form>
    </main>
  );
}
