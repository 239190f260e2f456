/**
 * The hub as an MCP server: {@code /mcp}, MCP's Streamable HTTP transport (revision 2025-06-18), one
 * tool {@code ask_<agent>} per agent the caller's token may use. Start with
 * {@link dev.agenthub.mcp.door.McpDoor} (the JSON-RPC methods, sessions, progress and cancellation
 * over one HTTP exchange, and {@code McpDoor.Intake}, what it needs from its node, which the hub
 * implements over its one turn intake); {@link dev.agenthub.mcp.door.DoorSessions} holds a node's
 * sessions, {@code AskCall} is one tool call on its way. No HTTP server here: the hub mounts the
 * door in its gateway. Contract: "Contract: MCP door" in docs/ARCHITECTURE.md.
 */
package dev.agenthub.mcp.door;
