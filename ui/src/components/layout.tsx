import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Link, Outlet } from '@tanstack/react-router';
import { useState } from 'react';
import { api, setCsrfToken } from '../api/client';
import { unwrap } from '../api/problem';
import { can, SessionProvider, useSessionQuery } from '../lib/session';
import { SignIn } from '../pages/sign-in';
import { NoticeProvider } from '../lib/notice';
import { ErrorState, Loading } from './states';

const NAV = [
  { to: '/', label: 'Overview' },
  { to: '/subscriptions', label: 'Subscriptions' },
  { to: '/deliveries', label: 'Delivery log' },
  { to: '/targets', label: 'Targets' },
  { to: '/connections', label: 'Connections', needs: 'connections' as const },
  { to: '/events', label: 'Events' },
  { to: '/plugins', label: 'Plugins' },
  { to: '/tokens', label: 'Tokens', needs: 'admin' as const },
];

/** The frame of every page: navigation, who is signed in, sign-out; the sign-in form when signed out. */
export function Layout() {
  const session = useSessionQuery();
  const qc = useQueryClient();
  const [menuOpen, setMenuOpen] = useState(false);
  const signOut = useMutation({
    mutationFn: async () => unwrap(await api.DELETE('/session')),
    onSettled: () => {
      setCsrfToken(undefined);
      qc.clear();
      qc.setQueryData(['session'], null);
    },
  });
  if (session.isPending) return <Loading what="your session" />;
  if (session.error) return <ErrorState error={session.error} retry={() => session.refetch()} />;
  if (!session.data) return <SignIn />;
  const rights = can(session.data.role);
  return (
    <SessionProvider session={session.data}>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">Integrations Hub</span>
        <button type="button" className="menu-toggle" aria-expanded={menuOpen} aria-controls="nav" onClick={() => setMenuOpen(!menuOpen)}>
          Menu
        </button>
        <nav id="nav" className={menuOpen ? 'open' : ''} aria-label="Main">
          {NAV.filter((n) => !n.needs || rights[n.needs]).map((n) => (
            <Link key={n.to} to={n.to} activeOptions={{ exact: n.to === '/', includeSearch: false }} activeProps={{ 'aria-current': 'page', className: 'active' }} onClick={() => setMenuOpen(false)}>
              {n.label}
            </Link>
          ))}
        </nav>
        <span className="who" data-testid="role">
          {session.data.role}
        </span>
        <button type="button" className="ghost" onClick={() => signOut.mutate()}>
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        <NoticeProvider>
          <Outlet />
        </NoticeProvider>
      </main>
    </SessionProvider>
  );
}
