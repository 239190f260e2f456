/**
 * Agents as actors: {@link dev.agenthub.agents.AgentVerticle} and the event-bus message shapes it
 * exchanges with the gateway ({@link dev.agenthub.protocol.Turn}) and the governor
 * ({@link dev.agenthub.protocol.ModelCall}). This module never depends on the hub.
 */
package dev.agenthub.agents;
