import { pino, type Logger } from "pino";

export type { Logger };

/** JSON logs on stdout: a fixed message plus bindings (namespace, name, reconcileId, requestId), errors under `err`. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { component: "eni-operator" }, timestamp: pino.stdTimeFunctions.isoTime });
}
