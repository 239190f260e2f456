// The official MCP TypeScript SDK's client (@modelcontextprotocol/sdk) against a hub's /mcp, as a
// user's MCP client would use it. Run by McpSdkTest with NODE_PATH at test-support/npm/node_modules.
// Arguments: the /mcp URL, a token that may use some agents, a token that may use others, a wrong
// token. Prints one JSON line: what each step saw, for the test to check.
const { Client } = require("@modelcontextprotocol/sdk/client/index.js");
const { StreamableHTTPClientTransport } = require("@modelcontextprotocol/sdk/client/streamableHttp.js");

const [url, token, otherToken, wrongToken] = process.argv.slice(2);

function open(bearer) {
  const client = new Client({ name: "agenthub-mcp-test", version: "1.0.0" });
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${bearer}` } }
  });
  return { client, transport };
}

async function failure(step) {
  try {
    await step();
    return { failed: false };
  } catch (e) {
    return { failed: true, code: e.code, message: String(e.message) };
  }
}

async function main() {
  const report = {};
  const { client, transport } = open(token);
  await client.connect(transport);
  report.server = client.getServerVersion();
  report.capabilities = client.getServerCapabilities();
  report.protocolVersion = transport.protocolVersion;
  report.tools = (await client.listTools()).tools;
  report.call = await client.callTool({ name: "ask_support", arguments: { text: "Where is my parcel?" } });
  const progress = [];
  report.progressCall = await client.callTool(
    { name: "ask_ops", arguments: { text: "Tell me a long story about the servers", session: "mcp-progress" } },
    undefined, { onprogress: p => progress.push(p) });
  report.progress = progress;
  report.forbidden = await failure(() => client.callTool({ name: "ask_assistant", arguments: { text: "hi" } }));
  await transport.terminateSession();
  await client.close();

  const other = open(otherToken);
  await other.client.connect(other.transport);
  report.otherTools = (await other.client.listTools()).tools.map(t => t.name);
  await other.client.close();

  const wrong = open(wrongToken);
  report.unauthorized = await failure(() => wrong.client.connect(wrong.transport));
  console.log(JSON.stringify(report));
}

main().then(() => process.exit(0), e => {
  console.error(e && e.stack ? e.stack : String(e));
  process.exit(1);
});
