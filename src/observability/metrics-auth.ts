/** What a request without the right to read /metrics gets. */
export interface Refusal {
  readonly status: 401 | 403;
  readonly body: string;
}

/** Decides whether the bearer of an Authorization header may read a path; undefined means yes. */
export type Guard = (authorization: string | undefined, path: string) => Promise<Refusal | undefined>;
