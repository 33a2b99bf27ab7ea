import { type ConfigurationOptions, Observable } from "@kubernetes/client-node";
import { FencedOffError, UNFENCED, type Fence } from "../api/fence.ts";
import { DEFAULT_TIMINGS } from "./leader-election.ts";

/**
 * How long a write the fence let through may wait to be sent. The fence allows a write up to the renew
 * deadline after the last renewal, and another replica can take over no earlier than the lease duration
 * after it: a write sent within the difference cannot reach the API server after a takeover. One still
 * waiting then (queued behind a connection that went silent, say) is aborted, which takes it out of the
 * pool's queue unsent.
 */
export const FENCED_SEND_MS = DEFAULT_TIMINGS.leaseDurationMs - DEFAULT_TIMINGS.renewDeadlineMs;

/**
 * Request options that check the fence as the last step before the request is sent, after client-node's
 * own asynchronous preparation (authentication, agents): a process frozen in between and resumed after
 * losing the lease sends nothing. Under leader election the request is also abandoned unless sent within
 * FENCED_SEND_MS of that check.
 */
export function fenceOptions(fence: Fence, what: string, options?: ConfigurationOptions): ConfigurationOptions {
  return {
    ...options,
    middleware: [
      ...(options?.middleware ?? []),
      {
        pre: (context) => {
          if (!fence()) return new Observable(Promise.reject<typeof context>(new FencedOffError(what)));
          if (fence !== UNFENCED) {
            const deadline = AbortSignal.timeout(FENCED_SEND_MS);
            const own = context.getSignal();
            context.setSignal(own ? AbortSignal.any([own, deadline]) : deadline);
          }
          return new Observable(Promise.resolve(context));
        },
        post: (response) => new Observable(Promise.resolve(response)),
      },
    ],
    middlewareMergeStrategy: "append",
  };
}
