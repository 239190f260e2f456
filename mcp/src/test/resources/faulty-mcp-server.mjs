// A stand-in MCP server (stdio) for the faults the reference servers do not show: tools listed over
// two pages, a tool that never answers (the cancellations it receives are written to CANCEL_LOG), a
// tool that kills the server mid-call, a result far above max-result, a tool whose inputSchema is
// not JSON Schema, a tool list that changes (notifications/tools/list_changed), and a line on stdout
// that is not JSON. Everything else as strict as the real SDK: a request before initialize is refused.
import { appendFileSync } from "node:fs";
import { createInterface } from "node:readline";

const send = (m) => process.stdout.write(JSON.stringify(m) + "\n");
const obj = { type: "object", properties: {} };
let initialized = false;
let fresh = false;
process.stdout.write("this line is not JSON-RPC\n");

const page1 = [
  { name: "hang", description: "never answers", inputSchema: obj },
  { name: "die", description: "kills the server", inputSchema: obj },
];
const page2 = () => [
  { name: "big", description: "a long result", inputSchema: obj },
  { name: "weird-schema", description: "a schema that is not one", inputSchema: { type: "objekt", properties: 7 } },
  { name: "counter", description: "changes the tool list", inputSchema: obj },
  ...(fresh ? [{ name: "fresh", description: "appeared later", inputSchema: obj }] : []),
];

createInterface({ input: process.stdin }).on("line", (line) => {
  let m;
  try { m = JSON.parse(line); } catch { return; }
  if (m.method === "notifications/cancelled") {
    if (process.env.CANCEL_LOG) appendFileSync(process.env.CANCEL_LOG, JSON.stringify(m.params) + "\n");
    return;
  }
  if (m.id === undefined) return; // other notifications
  if (m.method === "initialize") {
    initialized = true;
    return send({ jsonrpc: "2.0", id: m.id, result: { protocolVersion: "2025-06-18",
      capabilities: { tools: { listChanged: true } }, serverInfo: { name: "faulty", version: "1" } } });
  }
  if (!initialized) return send({ jsonrpc: "2.0", id: m.id, error: { code: -32002, message: "not initialized" } });
  if (m.method === "ping") return send({ jsonrpc: "2.0", id: m.id, result: {} });
  if (m.method === "tools/list") {
    const cursor = m.params && m.params.cursor;
    if (!cursor) return send({ jsonrpc: "2.0", id: m.id, result: { tools: page1, nextCursor: "page-2" } });
    if (cursor === "page-2") return send({ jsonrpc: "2.0", id: m.id, result: { tools: page2() } });
    return send({ jsonrpc: "2.0", id: m.id, error: { code: -32602, message: "bad cursor" } });
  }
  if (m.method === "tools/call") {
    const name = m.params.name;
    if (name === "hang") return;
    if (name === "die") process.exit(3);
    if (name === "big") return send({ jsonrpc: "2.0", id: m.id, result: { content: [{ type: "text", text: "x".repeat(200000) }] } });
    if (name === "weird-schema") return send({ jsonrpc: "2.0", id: m.id, result: { content: [{ type: "text", text: "weird ok" }] } });
    if (name === "counter") {
      fresh = true;
      send({ jsonrpc: "2.0", method: "notifications/tools/list_changed" });
      return send({ jsonrpc: "2.0", id: m.id, result: { content: [{ type: "text", text: "counted" }] } });
    }
    if (name === "fresh") return send({ jsonrpc: "2.0", id: m.id, result: { content: [{ type: "text", text: "fresh ok" }] } });
    return send({ jsonrpc: "2.0", id: m.id, result: { isError: true, content: [{ type: "text", text: "no such tool" }] } });
  }
  send({ jsonrpc: "2.0", id: m.id, error: { code: -32601, message: "method not found" } });
});
