/** An RFC 9457 problem as the API sends it. */
export interface Problem {
  type?: string;
  title: string;
  status: number;
  detail?: string;
  errors?: { path: string; message: string }[];
}

/** Thrown by `unwrap` for any non-2xx answer. */
export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail ?? problem.title);
    this.name = 'ApiError';
  }

  get status(): number {
    return this.problem.status;
  }

  /** Field problems keyed by path without the `body.` prefix, e.g. `config.url`. */
  fieldErrors(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const e of this.problem.errors ?? []) out[e.path.replace(/^body\./, '')] ??= e.message;
    return out;
  }
}

/** The data of an openapi-fetch result, or an ApiError with the problem. */
export function unwrap<T>(r: { data?: T; error?: unknown; response: Response }): T {
  if (r.response.ok) return r.data as T;
  const e = (r.error ?? {}) as Partial<Problem>;
  throw new ApiError({ title: e.title ?? r.response.statusText, status: r.response.status, detail: e.detail, errors: e.errors });
}

/** A readable message for any error. */
export function messageOf(err: unknown): string {
  if (err instanceof ApiError) return err.problem.detail ? `${err.problem.title}: ${err.problem.detail}` : err.problem.title;
  return err instanceof Error ? err.message : String(err);
}
