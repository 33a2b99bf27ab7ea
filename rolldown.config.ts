import { defineConfig, type Plugin } from "rolldown";

/**
 * `node:http` without Node's internal fetch. An ES module import of `node:http` (which the bundle makes of
 * every `require("http")` too) reads all of the module's exports, and three of them (WebSocket,
 * CloseEvent, MessageEvent) are lazy getters that load Node's own copy of undici: about 10 MiB of
 * resident memory for classes the operator never uses. This takes the module as CommonJS does, and
 * re-exports everything else.
 */
const NODE_FETCH_CLASSES = new Set(["WebSocket", "CloseEvent", "MessageEvent"]);

function httpWithoutWebSocket(): Plugin {
  const id = "\0node-http";
  return {
    name: "http-without-websocket",
    resolveId: (source) => (source === "node:http" || source === "http" ? id : undefined),
    load(loading) {
      if (loading !== id) return undefined;
      const names = Object.keys(process.getBuiltinModule("node:http")).filter((name) => !NODE_FETCH_CLASSES.has(name));
      return [
        'const http = process.getBuiltinModule("node:http");',
        "export default http;",
        ...names.map((name) => `export const ${name} = http.${name};`),
      ].join("\n");
    },
  };
}

// The operator ships as one bundle of what it uses: Node keeps every loaded module's source in memory,
// and @kubernetes/client-node alone is tens of MiB of generated code of which the operator calls a few
// classes. The entry point is its own small chunk, so the Node.js version check runs before the rest loads.
export default defineConfig({
  // kubectl-eni is the kubectl plugin (`kubectl eni ...`): the same commands, never the operator itself.
  input: { main: "src/main.ts", "kubectl-eni": "src/kubectl-eni.ts" },
  platform: "node",
  output: { dir: "dist", format: "esm", entryFileNames: "[name].js", chunkFileNames: "[name].js" },
  plugins: [httpWithoutWebSocket()],
  resolve: {
    // tr46 (under the ECM SDK's node-fetch) requires Node's deprecated punycode module. Node warns about
    // it only outside node_modules, which the bundle is; the userland package is the same code.
    alias: { punycode: "punycode/punycode.js" },
  },
});
