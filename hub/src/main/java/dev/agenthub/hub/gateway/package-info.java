/**
 * The doors of a node: HTTP ({@link dev.agenthub.hub.gateway.GatewayVerticle}: the native and the
 * OpenAI-compatible API, the MCP door, memory, admin, the dashboard), the event bus and its TCP bridge; every turn
 * goes through the node's one {@link dev.agenthub.hub.gateway.TurnIntake}, every failure out through
 * {@link dev.agenthub.hub.gateway.HttpFailures} or the event-bus door. See "Contract: HTTP API".
 */
package dev.agenthub.hub.gateway;
