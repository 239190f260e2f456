/**
 * The library users' own Vert.x applications talk to agents with: {@link dev.agenthub.client.AgentHubClient}
 * connects to the nodes' bridges (TLS, a token, failover between nodes; {@link dev.agenthub.client.BridgeLink}
 * speaks the frames) and answers each message with a {@link dev.agenthub.client.Reply} or an
 * {@link dev.agenthub.client.AgentHubException}; {@link dev.agenthub.client.LiteMember} is for
 * applications trusted like a node (they hold the cluster secret). See "Contract: the event-bus API"
 * in docs/ARCHITECTURE.md.
 */
package dev.agenthub.client;
