import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { createContext, useContext, useEffect, type ReactNode } from 'react';
import { api, ApiError, ok, onSessionLost, setCsrfToken, type SessionInfo } from './api';

// The session: GET /session tells a reloaded page who it is (and its CSRF token); signing in exchanges
// the API key for the HttpOnly cookie; nothing about it is kept in the browser's storage.

const SessionContext = createContext<SessionInfo | null>(null);

export function useSession(): SessionInfo {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside a signed-in page');
  return session;
}

async function readSession(): Promise<SessionInfo | null> {
  try {
    return await ok(api.GET('/session'));
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return null;
    throw err;
  }
}

export function useSignIn() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (apiKey: string) => ok(api.POST('/session', { body: { apiKey } })),
    onSuccess: (session) => {
      setCsrfToken(session.csrfToken);
      queryClient.setQueryData(['session'], session);
    },
  });
}

export function useSignOut() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: () => ok(api.DELETE('/session')),
    onSettled: () => {
      setCsrfToken(null);
      // Not queryClient.clear(): the session query must stay the one the gate observes, now empty.
      queryClient.setQueryData(['session'], null);
      queryClient.removeQueries({ predicate: (query) => query.queryKey[0] !== 'session' });
    },
  });
}

/** Renders `signedIn` inside the session, or `signIn` when there is none. */
export function SessionGate({ signIn, children }: { signIn: ReactNode; children: ReactNode }) {
  const queryClient = useQueryClient();
  const session = useQuery({ queryKey: ['session'], queryFn: readSession, staleTime: Infinity, retry: false });
  useEffect(() => {
    setCsrfToken(session.data?.csrfToken ?? null);
  }, [session.data]);
  useEffect(() => {
    onSessionLost(() => {
      setCsrfToken(null);
      queryClient.setQueryData(['session'], null);
    });
  }, [queryClient]);

  if (session.isPending) return <p className="loading page-loading">Loading…</p>;
  if (session.isError) return <p className="error-text page-loading">The API cannot be reached: {session.error.message}</p>;
  if (!session.data) return <>{signIn}</>;
  return <SessionContext.Provider value={session.data}>{children}</SessionContext.Provider>;
}
