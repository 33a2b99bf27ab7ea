// A forward proxy on 127.0.0.1 that answers CONNECT only, as egress proxies of enterprise networks do,
// and records each tunnel's target.
import { createServer } from "node:http";
import net from "node:net";
import type { AddressInfo } from "node:net";

export interface ConnectProxy {
  /** http://127.0.0.1:PORT, for HTTPS_PROXY / HTTP_PROXY. */
  readonly url: string;
  /** Every CONNECT target, as host:port, in order. */
  readonly tunnels: string[];
  close(): Promise<void>;
}

/** `refuse`: targets answered 403 instead of tunnelled. */
export async function startConnectProxy(refuse: readonly string[] = []): Promise<ConnectProxy> {
  const tunnels: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = createServer((_request, response) => {
    response.writeHead(405).end("CONNECT only\n");
  });
  server.on("connect", (request, client: net.Socket, head: Buffer) => {
    const target = request.url ?? "";
    tunnels.push(target);
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    client.on("error", () => client.destroy());
    const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(target);
    if (!match?.[1] || refuse.includes(target)) {
      client.end("HTTP/1.1 403 Forbidden\r\n\r\n");
      return;
    }
    const upstream = net.connect({ host: match[1], port: Number(match[2]) }, () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on("close", () => sockets.delete(upstream));
    upstream.on("error", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    tunnels,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
