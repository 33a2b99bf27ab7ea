import { type ConfigurationOptions, Observable } from "@kubernetes/client-node";
import { FencedOffError, type Fence } from "../api/fence.ts";

/**
 * Request options that check the fence as the last step before the request is sent, after client-node's
 * own asynchronous preparation (authentication, agents): a process frozen in between and resumed after
 * losing the lease sends nothing.
 */
export function fenceOptions(fence: Fence, what: string, options?: ConfigurationOptions): ConfigurationOptions {
  return {
    ...options,
    middleware: [
      ...(options?.middleware ?? []),
      {
        pre: (context) => new Observable(fence() ? Promise.resolve(context) : Promise.reject(new FencedOffError(what))),
        post: (response) => new Observable(Promise.resolve(response)),
      },
    ],
    middlewareMergeStrategy: "append",
  };
}
