// The real kubectl, run the way a user would type it: KUBECONFIG set, paths relative to the repository.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { duration } from "./narrator.ts";

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

export class Kubectl {
  readonly #binary: string;
  readonly #env: NodeJS.ProcessEnv;
  readonly #cwd: string;
  readonly #signal: AbortSignal;

  /** `stateDir` holds kubectl's discovery cache, so nothing lands in ~/.kube; `signal` kills a running kubectl. */
  constructor(options: { binary: string; kubeconfig: string; cwd: string; stateDir: string; signal: AbortSignal }) {
    this.#binary = options.binary;
    this.#env = {
      ...process.env,
      KUBECONFIG: options.kubeconfig,
      KUBECACHEDIR: join(options.stateDir, "kubectl-cache"),
    };
    this.#cwd = options.cwd;
    this.#signal = options.signal;
  }

  /**
   * Prints `$ kubectl ARGS`, then its output as it arrives. A non-zero exit fails the walkthrough unless
   * `allowFailure` is set.
   */
  async show(
    args: readonly string[],
    options: { allowFailure?: boolean; timed?: boolean } = {},
  ): Promise<KubectlResult> {
    console.log(`$ kubectl ${args.join(" ")}`);
    const result = await this.#run(args, true);
    if (options.timed === true) console.log(`(returned after ${duration(result.ms)})`);
    console.log();
    if (result.code !== 0 && options.allowFailure !== true) {
      throw new Error(`\`kubectl ${args.join(" ")}\` exited with code ${result.code}`);
    }
    return result;
  }

  /** Runs `kubectl ARGS -o json` without printing anything, for the walkthrough's own checks. */
  async json<T>(args: readonly string[]): Promise<T> {
    const result = await this.#run([...args, "-o", "json"], false);
    if (result.code !== 0) {
      throw new Error(`\`kubectl ${args.join(" ")} -o json\` exited with code ${result.code}: ${result.stderr.trim()}`);
    }
    return JSON.parse(result.stdout) as T;
  }

  async #run(args: readonly string[], echo: boolean): Promise<KubectlResult> {
    const began = performance.now();
    const child = spawn(this.#binary, args, {
      cwd: this.#cwd,
      env: this.#env,
      stdio: ["ignore", "pipe", "pipe"],
      signal: this.#signal,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
      if (echo) process.stdout.write(chunk);
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
      if (echo) process.stdout.write(chunk);
    });
    const code = await new Promise<number>((resolve, reject) => {
      child.once("error", reject);
      child.once("close", (exitCode) => {
        resolve(exitCode ?? -1);
      });
    });
    return { code, stdout, stderr, ms: performance.now() - began };
  }
}
