// After the walkthrough: how to use what is running, and the operator's log as compact lines.
import type { LogLine, RunningOperator } from "../support/operator.ts";
import { say } from "./narrator.ts";
import { NAMESPACE, SAMPLES_DIR } from "./samples.ts";
import type { Running } from "./walkthrough.ts";

const LEVELS: Record<number, string> = { 10: "trace", 20: "debug", 30: "info", 40: "warn", 50: "error", 60: "fatal" };
const SHOWN_FIELDS = ["action", "requestId", "code", "reason", "signal"];

/** `info  eni-demo/web-primary  ECM call accepted  action=... requestId=...` */
function formatLogLine(line: LogLine): string {
  const level = (LEVELS[line.level] ?? String(line.level)).padEnd(5);
  const { namespace, name } = line;
  const object = typeof namespace === "string" && typeof name === "string" ? `${namespace}/${name}  ` : "";
  const fields = SHOWN_FIELDS.flatMap((key) => {
    const value = line[key];
    return typeof value === "string" || typeof value === "number" ? [`${key}=${value}`] : [];
  });
  const err = line["err"];
  const errMessage =
    typeof err === "object" && err !== null && "message" in err && typeof err.message === "string" ? err.message : "";
  return [`${level} ${object}${line.msg}`, ...fields, errMessage].filter((part) => part !== "").join("  ");
}

export function printHowToUse(running: Running): void {
  const { controlPlane, emulator, operator } = running;
  say("Use them from another terminal:\n");
  say(`  export KUBECONFIG=${controlPlane.adminKubeconfigPath}`);
  say(`  alias kubectl=${controlPlane.kubectl}   # or any kubectl close to the server's version`);
  say(`  kubectl get enia -n ${NAMESPACE} -w`);
  say(`  kubectl apply -f ${SAMPLES_DIR}attached.yaml -n ${NAMESPACE}   # attach web-primary again`);
  say(`  kubectl explain eniattachment.spec\n`);
  say(`  ECM emulator     ${emulator.url}   (curl ${emulator.url}/_emulator/calls, /_emulator/enis;`);
  say("                   control API in test/emulator/README.md)");
  say(`  operator metrics ${operator.metricsUrl}`);
  say(`  operator probes  ${operator.probesUrl}/healthz, ${operator.probesUrl}/readyz`);
  say(`  kube-apiserver   ${controlPlane.server}\n`);
  say("Press Ctrl-C to stop the operator, the emulator and the control plane. The operator's log follows:\n");
}

/** Prints each new operator log line as it arrives; returns a function that stops following. */
export function followOperatorLogs(operator: RunningOperator): () => void {
  let shown = operator.logs.length;
  const timer = setInterval(() => {
    for (const line of operator.logs.slice(shown)) say(`[operator] ${formatLogLine(line)}`);
    shown = operator.logs.length;
  }, 250);
  return () => {
    clearInterval(timer);
  };
}

/** The operator's last log lines and stderr, to explain a failed step. */
export function printOperatorLogTail(operator: RunningOperator, lines = 25): void {
  console.error(`\nthe operator's last ${lines} log lines:`);
  for (const line of operator.logs.slice(-lines)) console.error(`  ${formatLogLine(line).slice(0, 400)}`);
  const stderr = operator.stderr().trim();
  if (stderr !== "") console.error(`the operator's stderr:\n${stderr}`);
}
