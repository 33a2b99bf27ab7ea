/** One subcommand: its usage, and a run that prints through `out` and returns the exit code. */
export interface Tool {
  readonly usage: string;
  run(argv: readonly string[], env: NodeJS.ProcessEnv, out: (text: string) => void): Promise<number | "help">;
}
