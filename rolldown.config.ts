import { defineConfig } from "rolldown";

// The operator ships as one bundle of what it uses: Node keeps every loaded module's source in memory,
// and @kubernetes/client-node alone is tens of MiB of generated code of which the operator calls a few
// classes. The entry point is its own small chunk, so the Node.js version check runs before the rest loads.
export default defineConfig({
  // kubectl-eni is the kubectl plugin (`kubectl eni ...`): the same commands, never the operator itself.
  input: { main: "src/main.ts", "kubectl-eni": "src/kubectl-eni.ts" },
  platform: "node",
  output: { dir: "dist", format: "esm", entryFileNames: "[name].js", chunkFileNames: "[name].js" },
  resolve: {
    // tr46 (under the ECM SDK's node-fetch) requires Node's deprecated punycode module. Node warns about
    // it only outside node_modules, which the bundle is; the userland package is the same code.
    alias: { punycode: "punycode/punycode.js" },
  },
});
