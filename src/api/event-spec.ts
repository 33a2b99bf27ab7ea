/** An event about an EniAttachment, as `kubectl describe` shows it: decided by the controller, written by the recorder. */
export interface EventSpec {
  readonly type: "Normal" | "Warning";
  /** PascalCase, from a fixed set (DetachRequested, Detached, DetachFailed, Orphaned ...). */
  readonly reason: string;
  readonly message: string;
}
