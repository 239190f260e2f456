/**
 * The node, the composition root: {@link dev.agenthub.hub.Launcher} is the command line,
 * {@link dev.agenthub.hub.HubNode} starts Vert.x (clustered or not) and deploys every actor of the
 * other modules with the config; {@link dev.agenthub.hub.AgentPlacer} places agent instances. Start
 * with "The actors" in docs/ARCHITECTURE.md.
 */
package dev.agenthub.hub;
