/** A failure the command explains in one sentence and exits non-zero for; 2 is a usage error. */
export class ToolError extends Error {
  override name = "ToolError";
  readonly exitCode: number;

  constructor(message: string, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}
