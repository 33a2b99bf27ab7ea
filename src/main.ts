#!/usr/bin/env node
// The entry point checks the Node.js version before anything else is loaded: in the bundle the
// dependencies' top-level code runs before the modules that import them, and on an older Node.js it
// fails, or warns, inside them instead of saying what is wrong.
import "./node-version.ts";

await import("./cli.ts");
