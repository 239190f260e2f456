/**
 * Tools from MCP servers (the Model Context Protocol, revision 2025-06-18): start with
 * {@link dev.agenthub.mcp.McpVerticle}, the node's tool door that agents call on the local
 * addresses of {@link dev.agenthub.protocol.ToolCall}; {@code McpServer} is one configured server
 * on this node (its session, tools, limits and restarts), {@code McpSession} the JSON-RPC client,
 * {@code StdioTransport} and {@code HttpTransport} how messages travel. Contracts: "Contract: MCP
 * tools" and "Contract: configuration" in docs/ARCHITECTURE.md. The other way round, the hub as an
 * MCP server, is the package {@code door}.
 */
package dev.agenthub.mcp;
