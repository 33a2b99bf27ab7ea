/**
 * Whether this process may still act on the world: call ECM, write to the API server. With leader
 * election it is true only while the lease is held and freshly renewed, and false for good once it is
 * lost, so that a deposed (or frozen and resumed) leader makes no call and no write however its
 * timers fire. Shared by the ECM and Kubernetes adapters, which check it before every request.
 */
export type Fence = () => boolean;

export const UNFENCED: Fence = () => true;

/** A request refused because the process no longer holds the leader lease. */
export class FencedOffError extends Error {
  constructor(what: string) {
    super(`${what} refused: this replica no longer holds the leader lease`);
    this.name = "FencedOffError";
  }
}

export function checkFence(fence: Fence, what: string): void {
  if (!fence()) throw new FencedOffError(what);
}
