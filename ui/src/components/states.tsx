import type { ReactNode } from 'react';
import { Link } from '@tanstack/react-router';
import { ApiError, messageOf } from '../api/problem';

/** Shown while a query loads. */
export function Loading({ what }: { what: string }) {
  return (
    <p className="state" role="status" aria-live="polite">
      Loading {what}…
    </p>
  );
}

/** Shown when a query failed, with a retry; a 404 (deleted, or a wrong link) offers a way out instead. */
export function ErrorState({ error, retry }: { error: unknown; retry?: () => void }) {
  if (error instanceof ApiError && error.status === 404) {
    return (
      <div className="state error" role="alert">
        <p>{error.problem.detail ?? 'Not found'}: it may have been deleted, or the link is wrong.</p>
        <p className="actions">
          <button type="button" onClick={() => history.back()}>Go back</button>
          <Link to="/">Overview</Link>
        </p>
      </div>
    );
  }
  return (
    <div className="state error" role="alert">
      <p>{messageOf(error)}</p>
      {retry && (
        <button type="button" onClick={retry}>
          Try again
        </button>
      )}
    </div>
  );
}

/** Shown when a list is empty: says what to do next. */
export function Empty({ children }: { children: ReactNode }) {
  return <div className="state empty">{children}</div>;
}

/** Loading / error / content for one query. */
export function QueryView<T>({ q, what, children }: { q: { data?: T; error: unknown; isPending: boolean; refetch: () => unknown }; what: string; children: (data: T) => ReactNode }) {
  if (q.isPending) return <Loading what={what} />;
  if (q.error) return <ErrorState error={q.error} retry={() => q.refetch()} />;
  return <>{children(q.data as T)}</>;
}
