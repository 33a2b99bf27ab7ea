import { AuthenticationV1Api, AuthorizationV1Api, type KubeConfig } from "@kubernetes/client-node";

/** What a request without the right to read /metrics gets. */
export interface Refusal {
  readonly status: 401 | 403;
  readonly body: string;
}

/** Decides whether the bearer of an Authorization header may read a path; undefined means yes. */
export type Guard = (authorization: string | undefined, path: string) => Promise<Refusal | undefined>;

/**
 * Authentication by TokenReview and authorization by SubjectAccessReview (`get` on the non-resource
 * URL), as controller-runtime's WithAuthenticationAndAuthorization filter does: a scraper needs a
 * token the API server accepts, bound to a role that grants `get` on /metrics.
 */
export function kubernetesGuard(kc: KubeConfig): Guard {
  const authn = kc.makeApiClient(AuthenticationV1Api);
  const authz = kc.makeApiClient(AuthorizationV1Api);
  return async (authorization, path) => {
    const token = /^Bearer (\S+)$/i.exec(authorization ?? "")?.[1];
    if (!token) return { status: 401, body: "Unauthorized: a bearer token is required\n" };
    const review = await authn.createTokenReview({ body: { spec: { token } } });
    const user = review.status?.user;
    if (review.status?.authenticated !== true || !user) return { status: 401, body: "Unauthorized\n" };
    const access = await authz.createSubjectAccessReview({
      body: {
        spec: {
          user: user.username,
          groups: user.groups,
          uid: user.uid,
          extra: user.extra,
          nonResourceAttributes: { path, verb: "get" },
        },
      },
    });
    if (access.status?.allowed === true) return undefined;
    return { status: 403, body: `Forbidden: ${user.username ?? ""} may not get ${path}\n` };
  };
}
