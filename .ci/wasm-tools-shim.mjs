// wasm-tools for TinyGo, over the npm package @bytecodealliance/jco (its
// jco-transpile wasm-tools component). Installed by .ci/tinygo.sh as
// <toolchain>/jco/wasm-tools.mjs, run by <toolchain>/bin/wasm-tools.
//
// It does what TinyGo 0.42 asks of wasm-tools and nothing else:
//   wasm-tools component embed -w WORLD WIT-PATH IN -o OUT
//   wasm-tools component new IN -o OUT
//   wasm-tools --version
// Any other command fails with a message saying so.
import { createRequire } from "node:module";
import { readFile, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const VERSION = "wasm-tools (pelato shim over @bytecodealliance/jco)";

function usage(msg) {
  process.stderr.write(
    `wasm-tools: ${msg}\n` +
      "this wasm-tools is pelato's shim over jco (.ci/tinygo.sh); it supports only\n" +
      "  component embed -w WORLD WIT-PATH IN -o OUT\n" +
      "  component new IN -o OUT\n",
  );
  process.exit(2);
}

// parse splits args into the value of each -w/--world and -o/--output flag and
// the positional arguments; any other flag is refused.
function parse(args) {
  const out = { positional: [] };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "-w" || a === "--world") out.world = args[++i];
    else if (a === "-o" || a === "--output") out.output = args[++i];
    else if (a.startsWith("--world=")) out.world = a.slice(8);
    else if (a.startsWith("--output=")) out.output = a.slice(9);
    else if (a.startsWith("-") && a !== "-") usage(`unsupported flag ${a}`);
    else out.positional.push(a);
  }
  return out;
}

// tools loads jco's wasm-tools component after giving the preview2 shim it runs on
// (the copy jco-transpile resolves, not any other in node_modules) the host's root
// as its filesystem preopen, so that absolute WIT paths can be read.
async function tools() {
  const require = createRequire(import.meta.url);
  const wasmTools = require.resolve("@bytecodealliance/jco-transpile/wasm-tools");
  const shimFS = createRequire(wasmTools).resolve("@bytecodealliance/preview2-shim/filesystem");
  const fs = await import(pathToFileURL(shimFS).href);
  fs._setPreopens({ "/": "/" });
  return import(pathToFileURL(wasmTools).href);
}

async function main() {
  const args = process.argv.slice(2);
  if (args[0] === "--version" || args[0] === "-V") {
    process.stdout.write(VERSION + "\n");
    return;
  }
  if (args[0] !== "component" || (args[1] !== "embed" && args[1] !== "new")) {
    usage(`unsupported command: ${args.join(" ") || "(none)"}`);
  }
  const o = parse(args.slice(2));
  if (!o.output) usage("-o OUT is required");
  const t = await tools();
  let result;
  if (args[1] === "embed") {
    if (o.positional.length !== 2) usage("component embed needs WIT-PATH and IN");
    if (!o.world) usage("component embed needs -w WORLD");
    const [wit, input] = o.positional;
    result = await t.componentEmbed({
      binary: await readFile(input),
      witPath: resolve(wit),
      world: o.world,
    });
  } else {
    if (o.positional.length !== 1) usage("component new needs IN");
    result = await t.componentNew(await readFile(o.positional[0]));
  }
  await writeFile(o.output, result);
}

main().catch((err) => {
  process.stderr.write(`wasm-tools: ${err && err.message ? err.message : err}\n`);
  process.exit(1);
});
