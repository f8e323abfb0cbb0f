// Runs a pelato component transpiled by jco (./out/component.js) against the test
// doubles of doubles.mjs and WASI from @bytecodealliance/preview2-shim.
//
//   node runner.mjs SCENARIO.json
//
// The scenario gives the runtime configuration, the messages to hand to
// wasmcloud:messaging/handler and, for a component that exports
// wasi:http/incoming-handler, the HTTP requests to send to it (served by
// preview2-shim's HTTPServer on 127.0.0.1). It prints one JSON object: what each
// call returned and what the component published, stored and logged.
import { readFileSync } from "node:fs";
import { state } from "./doubles.mjs";

const sc = JSON.parse(readFileSync(process.argv[2], "utf8"));
state.config = sc.config ?? {};
const comp = await import("./out/component.js");
const out = { messages: [], http: [] };

for (const m of sc.messages ?? []) {
  try {
    comp.handler.handleMessage({ subject: m.subject, body: new TextEncoder().encode(m.body), replyTo: m.replyTo });
    out.messages.push({ ok: true });
  } catch (e) {
    out.messages.push({ ok: false, error: String(e?.payload ?? e) });
  }
}

if ((sc.http ?? []).length > 0) {
  const { HTTPServer } = await import("@bytecodealliance/preview2-shim/http");
  const server = new HTTPServer(comp.incomingHandler);
  server.listen(0, "127.0.0.1");
  const { port } = server.address();
  for (const r of sc.http) {
    const res = await fetch(`http://127.0.0.1:${port}${r.path ?? "/"}`, { method: r.method, body: r.body });
    out.http.push({ status: res.status, body: await res.text() });
  }
  server.stop();
}

out.published = state.published;
out.kv = state.kv;
out.opened = state.opened;
out.logs = state.logs;
process.stdout.write(JSON.stringify(out) + "\n");
process.exit(0);
