// Shopify's Toxiproxy, built from its Go module by build-binaries.sh and driven through its HTTP API:
// a TCP proxy on 127.0.0.1 per upstream, with toxics (latency, reset_peer, timeout, ...) added and
// removed while the operator runs. Toxics apply to every connection of a proxy, the open ones included.
import { execFile, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { freePorts } from "../controlplane/ports.ts";
import { waitFor } from "./operator.ts";

const SCRIPT = fileURLToPath(new URL("../controlplane/build-binaries.sh", import.meta.url));

export interface Toxic {
  readonly type: "latency" | "reset_peer" | "timeout" | "bandwidth" | "slicer" | "limit_data" | "slow_close";
  /** downstream: server to client; upstream: client to server. */
  readonly stream: "downstream" | "upstream";
  /** The share of connections it applies to, 1 by default. */
  readonly toxicity?: number;
  readonly attributes: Readonly<Record<string, number>>;
}

export interface ToxiProxy {
  /** 127.0.0.1:<port> */
  readonly address: string;
  /** Adds a toxic under `name`; remove() takes it away. */
  add(name: string, toxic: Toxic): Promise<void>;
  remove(name: string): Promise<void>;
}

export interface Toxiproxy {
  /** A proxy to `upstream` (host:port) on a free port of 127.0.0.1. */
  proxy(name: string, upstream: string): Promise<ToxiProxy>;
  close(): Promise<void>;
}

/** The toxiproxy-server binary: built and cached on first use. */
async function toxiproxyBinary(): Promise<string> {
  const { stdout } = await promisify(execFile)("bash", [SCRIPT, "toxiproxy-server"]);
  const path = /^toxiproxy-server=(.+)$/m.exec(stdout)?.[1];
  if (path === undefined) throw new Error(`${SCRIPT} toxiproxy-server printed no path: ${stdout}`);
  return path;
}

export async function startToxiproxy(): Promise<Toxiproxy> {
  const [apiPort] = await freePorts(1);
  // Under setpriv --pdeathsig, as the control plane's servers: it dies with the test process however that ends.
  const child = spawn(
    "/usr/bin/setpriv",
    ["--pdeathsig", "KILL", "--", await toxiproxyBinary(), "-host", "127.0.0.1", "-port", String(apiPort)],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr = (stderr + chunk).slice(-4_000)));
  const kill = (): void => {
    child.kill("SIGKILL");
  };
  process.once("exit", kill);
  const api = `http://127.0.0.1:${apiPort}`;
  const call = async (method: string, path: string, body?: unknown): Promise<unknown> => {
    const response = await fetch(`${api}${path}`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`toxiproxy ${method} ${path}: HTTP ${response.status} ${text}`);
    return text === "" ? undefined : (JSON.parse(text) as unknown);
  };
  try {
    await waitFor(async () => (await fetch(`${api}/version`).catch(() => undefined))?.ok, 20_000);
  } catch (cause) {
    kill();
    throw new Error(`toxiproxy-server did not serve on ${api}: ${stderr}`, { cause });
  }
  return {
    proxy: async (name, upstream) => {
      const created = (await call("POST", "/proxies", { name, listen: "127.0.0.1:0", upstream })) as {
        listen: string;
      };
      return {
        address: created.listen,
        add: async (toxicName, toxic) => {
          await call("POST", `/proxies/${name}/toxics`, { name: toxicName, toxicity: 1, ...toxic });
        },
        remove: async (toxicName) => {
          await call("DELETE", `/proxies/${name}/toxics/${toxicName}`);
        },
      };
    },
    close: async () => {
      process.off("exit", kill);
      const exited = new Promise((resolve) => child.once("exit", resolve));
      kill();
      await exited;
    },
  };
}
