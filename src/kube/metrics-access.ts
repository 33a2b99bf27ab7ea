import { Type } from "typebox";
import { decode } from "../api/decode.ts";
import type { Guard } from "../observability/metrics-auth.ts";
import type { KubeApi } from "./api-client.ts";

const TokenReviewSchema = Type.Object({
  status: Type.Optional(
    Type.Object({
      authenticated: Type.Optional(Type.Boolean()),
      user: Type.Optional(
        Type.Object({
          username: Type.Optional(Type.String()),
          uid: Type.Optional(Type.String()),
          groups: Type.Optional(Type.Array(Type.String())),
          extra: Type.Optional(Type.Record(Type.String(), Type.Array(Type.String()))),
        }),
      ),
    }),
  ),
});
const SubjectAccessReviewSchema = Type.Object({
  status: Type.Optional(Type.Object({ allowed: Type.Optional(Type.Boolean()) })),
});

/**
 * Authentication by TokenReview and authorization by SubjectAccessReview (`get` on the non-resource
 * URL), as controller-runtime's WithAuthenticationAndAuthorization filter does: a scraper needs a
 * token the API server accepts, bound to a role that grants `get` on /metrics.
 */
export function kubernetesGuard(api: KubeApi): Guard {
  return async (authorization, path) => {
    const token = /^Bearer (\S+)$/i.exec(authorization ?? "")?.[1];
    if (!token) return { status: 401, body: "Unauthorized: a bearer token is required\n" };
    const review = decode(
      TokenReviewSchema,
      await api.request("POST", "/apis/authentication.k8s.io/v1/tokenreviews", {
        body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", spec: { token } },
      }),
      "TokenReview",
    );
    const user = review.status?.user;
    if (review.status?.authenticated !== true || !user) return { status: 401, body: "Unauthorized\n" };
    const access = decode(
      SubjectAccessReviewSchema,
      await api.request("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", {
        body: {
          apiVersion: "authorization.k8s.io/v1",
          kind: "SubjectAccessReview",
          spec: {
            user: user.username,
            groups: user.groups,
            uid: user.uid,
            extra: user.extra,
            nonResourceAttributes: { path, verb: "get" },
          },
        },
      }),
      "SubjectAccessReview",
    );
    if (access.status?.allowed === true) return undefined;
    return { status: 403, body: `Forbidden: ${user.username ?? ""} may not get ${path}\n` };
  };
}
