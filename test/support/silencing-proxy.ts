// A TCP proxy on 127.0.0.1 for the one fault Toxiproxy cannot make: the connections already open go
// silent (bytes in either direction are dropped, no FIN, no reset), as when a cloud load balancer or a
// NAT table drops an idle flow, while new connections still work. Toxiproxy's toxics apply to every
// connection of a proxy, old and new alike (toxiproxy.ts drives it for the other faults).
import net from "node:net";

interface Flow {
  readonly client: net.Socket;
  readonly upstream: net.Socket;
  silent: boolean;
}

export interface SilencingProxy {
  /** 127.0.0.1:<port> */
  readonly address: string;
  /** Every flow open now goes silent for good; later ones are forwarded. */
  silenceExisting(): void;
  /** Every flow open now and every one opened until heal() goes silent for good. */
  silenceAll(): void;
  /** New flows are forwarded again; silenced ones stay silent, as a dropped flow never comes back. */
  heal(): void;
  /** How many connections the proxy accepted, how many of them are open, and how many the far side reset. */
  connections(): { accepted: number; open: number; reset: number };
  close(): Promise<void>;
}

export async function startSilencingProxy(target: { host: string; port: number }): Promise<SilencingProxy> {
  const flows = new Set<Flow>();
  let accepted = 0;
  let reset = 0;
  let silenceNew = false;
  const server = net.createServer((client) => {
    accepted += 1;
    const upstream = net.connect(target);
    const flow: Flow = { client, upstream, silent: silenceNew };
    flows.add(flow);
    const end = (): void => {
      flows.delete(flow);
      client.destroy();
      upstream.destroy();
    };
    client.on("data", (chunk) => {
      if (!flow.silent) upstream.write(chunk);
    });
    upstream.on("data", (chunk) => {
      if (!flow.silent) client.write(chunk);
    });
    // A silent flow hides the far side's close as it hides its bytes: only the near side's own close
    // (the client giving up) ends it.
    client.on("close", end).on("error", end);
    upstream.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "ECONNRESET") reset += 1;
      if (flow.silent) upstream.destroy();
      else end();
    });
    upstream.on("close", () => {
      if (!flow.silent) end();
    });
    client.on("end", () => {
      if (!flow.silent) upstream.end();
    });
    upstream.on("end", () => {
      if (!flow.silent) client.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    silenceExisting: () => {
      for (const flow of flows) flow.silent = true;
    },
    silenceAll: () => {
      silenceNew = true;
      for (const flow of flows) flow.silent = true;
    },
    heal: () => {
      silenceNew = false;
    },
    connections: () => ({ accepted, open: flows.size, reset }),
    close: async () => {
      for (const flow of flows) {
        flow.client.destroy();
        flow.upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
