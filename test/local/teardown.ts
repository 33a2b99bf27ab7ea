// What has been started, stopped in reverse order: operator, then emulator, then control plane.

interface Step {
  what: string;
  stop: () => Promise<string | undefined>;
}

export class Teardown {
  readonly #steps: Step[] = [];
  #ran: Promise<boolean> | undefined;

  /** `stop` may return a short note printed after `what`, e.g. "exit code 0". */
  add(what: string, stop: () => Promise<string | undefined>): void {
    this.#steps.push({ what, stop });
  }

  /** Runs every step even when one fails; resolves to whether all succeeded. Runs once. */
  run(): Promise<boolean> {
    this.#ran ??= this.#run();
    return this.#ran;
  }

  async #run(): Promise<boolean> {
    let ok = true;
    for (const step of this.#steps.reverse()) {
      try {
        const note = await step.stop();
        console.log(`stopped ${step.what}${note === undefined ? "" : `: ${note}`}`);
      } catch (error) {
        ok = false;
        console.error(`could not stop ${step.what}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    return ok;
  }
}
