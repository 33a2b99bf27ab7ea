import { createServer, type Server } from "node:net";

const LOOPBACK = "127.0.0.1";

async function listen(server: Server, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, LOOPBACK, resolve);
  });
}

async function close(server: Server): Promise<void> {
  await new Promise<void>((resolve) => {
    server.close(() => {
      resolve();
    });
  });
}

/**
 * `count` distinct ports on 127.0.0.1 that nothing listens on right now, chosen by the kernel. All are
 * held open together before being released, so no two are the same.
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createServer());
  try {
    await Promise.all(servers.map((server) => listen(server, 0)));
    return servers.map((server) => {
      const address = server.address();
      if (address === null || typeof address === "string") throw new Error("listening socket has no TCP address");
      return address.port;
    });
  } finally {
    await Promise.all(servers.filter((server) => server.listening).map(close));
  }
}

/** Whether 127.0.0.1:port can be bound, i.e. no listener holds it (TIME_WAIT sockets do not count). */
export async function isPortFree(port: number): Promise<boolean> {
  const server = createServer();
  try {
    await listen(server, port);
  } catch {
    return false;
  }
  await close(server);
  return true;
}
