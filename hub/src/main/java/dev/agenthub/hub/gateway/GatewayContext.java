package dev.agenthub.hub.gateway;

import dev.agenthub.config.HubConfig;
import dev.agenthub.hub.cluster.ClusterView;
import dev.agenthub.hub.metrics.HubMetrics;
import dev.agenthub.mcp.door.DoorSessions;
import dev.agenthub.protocol.MessageAuth;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.json.JsonObject;

import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * What a gateway needs from its node: the configuration, the live cluster view, the metrics and
 * the readiness of the node's parts, and what its doors share.
 *
 * @param ready        readiness checks: name to check, all must pass for {@code /health/ready} (a
 *                     {@link ReadinessCheck} also says why it is down)
 * @param memoryWriter the active memory writer ({@code {writer, epoch}}) or null
 * @param signer       signs this node's own requests (turns to agent instances, the admin routes'
 *                     memory calls, dashboard figures) as {@link MessageAuth#nodePrincipal}
 * @param verifier     checks signed requests on this node (one per node: a replay to another consumer
 *                     of the same address on this node is refused too)
 * @param intruders    the members of the cluster that did not prove they hold its secret ({@code
 *                     host:port} each), for {@code /v1/cluster}
 * @param intake       the node's one intake of turns, shared by every door
 * @param mcpSessions  the node's MCP sessions ({@code /mcp}), shared by its gateways
 */
public record GatewayContext(HubConfig config, Supplier<ClusterView> view, HubMetrics metrics,
                             PrometheusMeterRegistry registry, Map<String, BooleanSupplier> ready,
                             Supplier<JsonObject> memoryWriter, MessageAuth.Signer signer,
                             MessageAuth.Verifier verifier, Supplier<List<String>> intruders,
                             TurnIntake intake, DoorSessions mcpSessions) {
}
