import { useQuery, useQueryClient } from '@tanstack/react-query';
import { createContext, useContext, useEffect, type ReactNode } from 'react';
import { api, setCsrfToken, whenSignedOut } from '../api/client';
import { unwrap } from '../api/problem';
import type { Role, Session } from '../api/types';

const SessionContext = createContext<Session | undefined>(undefined);

/** Loads who is signed in (GET /session); undefined data = signed out. */
export function useSessionQuery() {
  return useQuery({
    queryKey: ['session'],
    queryFn: async () => {
      const s = unwrap(await api.GET('/session'));
      if (!s.signedIn) return null;
      setCsrfToken(s.csrfToken);
      return s;
    },
    staleTime: Infinity,
    retry: false,
  });
}

/** Gives the signed-in session to the pages; a 401 anywhere sends the user back to sign-in. */
export function SessionProvider({ session, children }: { session: Session; children: ReactNode }) {
  const qc = useQueryClient();
  useEffect(() => {
    whenSignedOut(() => {
      setCsrfToken(undefined);
      qc.setQueryData(['session'], null);
    });
  }, [qc]);
  return <SessionContext.Provider value={session}>{children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside SessionProvider');
  return s;
}

/** What a role may do in the UI (the API enforces the same, see API.md "Roles"). */
export function useCan() {
  const { role } = useSession();
  return can(role);
}

export function can(role: Role) {
  const write = role === 'admin' || role === 'manager';
  return { write, admin: role === 'admin', connections: write };
}
