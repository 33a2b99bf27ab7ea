import type { Agent } from "node:http";
import { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { TLSSocket } from "node:tls";
import { FencedOffError, type Fence } from "../api/fence.ts";

/**
 * Makes the agent hand a new connection to its request only once it is open (TCP connected, TLS
 * handshake done) and the fence still holds: opening a connection can take seconds, during which the
 * lease may run out, and the request's bytes go out the moment the connection is ready. A refused
 * connection is closed and fails its request with FencedOffError. Connections the agent reuses are
 * open already; the request on them is fenced by the caller's last check.
 */
export function fenceConnections(agent: Agent, fence: Fence): Agent {
  const open = agent.createConnection.bind(agent);
  agent.createConnection = (options, ready) => {
    if (!ready) return open(options);
    // The connection comes back either at once or through the callback (a proxy tunnel, say); a default
    // agent also fires the callback as its connect listener, with no arguments: only the first counts.
    let handed = false;
    const handOver = (err: Error | null | undefined, socket?: Duplex) => {
      if (handed || (!err && !socket)) return;
      handed = true;
      if (err || !socket) {
        // The agent reads only the error then; its callback's type still wants a stream.
        const none = socket ?? new Socket();
        none.destroy();
        ready(err ?? new Error("no connection"), none);
        return;
      }
      whenOpen(socket, (error) => {
        if (!error && !fence()) error = new FencedOffError("ECM request");
        if (!error) {
          ready(null, socket);
          return;
        }
        socket.destroy();
        ready(error, socket);
      });
    };
    const socket = open(options, handOver);
    if (socket) handOver(null, socket);
    return undefined;
  };
  return agent;
}

function whenOpen(socket: Duplex, done: (error?: Error) => void): void {
  const event =
    socket instanceof TLSSocket ? "secureConnect" : socket instanceof Socket && socket.connecting ? "connect" : "";
  if (event === "") {
    done();
    return;
  }
  const onOpen = () => {
    socket.off("error", onError);
    done();
  };
  const onError = (error: Error) => {
    socket.off(event, onOpen);
    done(error);
  };
  socket.once(event, onOpen);
  socket.once("error", onError);
}
