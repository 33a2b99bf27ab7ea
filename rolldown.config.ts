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

/**
 * What `charset: "ascii"` leaves (a licence comment naming its author with an accent) escaped too: one
 * such character makes V8 keep the whole chunk's source at two bytes a character. `\uXXXX` means the
 * same character in a comment, a string, a regular expression or a name.
 */
function asciiOnly(): Plugin {
  return {
    name: "ascii-only",
    renderChunk: (code) =>
      code.replace(/[^\t\n\r\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`),
  };
}

// The operator ships as a bundle of what it uses, in chunks loaded when needed: Node keeps the source of
// every module it loads in memory (as two bytes a character if one character is not ASCII), so the
// bundle is minified and ASCII only, and code only some runs use (the CLI commands and client-node's
// clients, the metrics certificate, uninstall) is loaded by import() where it is used. Names are not
// mangled: stack traces in the logs stay readable, for 0.1 MiB. The entry point is its own small chunk,
// so the Node.js version check runs before the rest loads.
export default defineConfig({
  // kubectl-eni is the kubectl plugin (`kubectl eni ...`): the same commands, never the operator itself.
  input: { main: "src/main.ts", "kubectl-eni": "src/kubectl-eni.ts" },
  platform: "node",
  output: {
    dir: "dist",
    format: "esm",
    entryFileNames: "[name].js",
    chunkFileNames: "[name].js",
    minify: { compress: true, mangle: false, codegen: { removeWhitespace: true } },
    charset: "ascii",
  },
  plugins: [httpWithoutWebSocket(), asciiOnly()],
});
