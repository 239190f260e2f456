package dev.agenthub.hub.cluster;

import dev.agenthub.agents.AgentSpec;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.Comparator;
import java.util.List;

/** An immutable snapshot of the live nodes and the agent instances placed on them. */
public record ClusterView(List<NodeEntry> nodes, List<NodeEntry.Placement> placements) {

  public ClusterView {
    nodes = nodes.stream().sorted(Comparator.comparing(NodeEntry::name)).toList();
    placements = List.copyOf(placements);
  }

  public static ClusterView of(List<NodeEntry> nodes, List<AgentSpec> agents) {
    return new ClusterView(nodes, PlacementPlan.compute(nodes, agents));
  }

  /** Live instances of {@code agent}. */
  public List<NodeEntry.Placement> instancesOf(String agent) {
    return placements.stream().filter(p -> p.agent().equals(agent)).toList();
  }

  /** Instances this view places on {@code node}. */
  public List<NodeEntry.Placement> on(String node) {
    return placements.stream().filter(p -> p.node().equals(node)).toList();
  }

  /** The body of {@code GET /v1/cluster}. */
  public JsonObject toJson() {
    JsonArray ns = new JsonArray();
    nodes.forEach(n -> ns.add(n.toJson()));
    JsonArray ps = new JsonArray();
    placements.forEach(p -> ps.add(p.toJson()));
    return new JsonObject().put("nodes", ns).put("placements", ps);
  }
}
