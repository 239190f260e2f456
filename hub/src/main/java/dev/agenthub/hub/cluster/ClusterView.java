package dev.agenthub.hub.cluster;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/** An immutable snapshot of the live nodes and the agent instances they run. */
public record ClusterView(List<NodeEntry> nodes) {

  public ClusterView {
    nodes = nodes.stream().sorted(Comparator.comparing(NodeEntry::name)).toList();
  }

  /** Live instances of {@code agent}, in node-name order. */
  public List<NodeEntry.Placement> instancesOf(String agent) {
    List<NodeEntry.Placement> out = new ArrayList<>();
    for (NodeEntry node : nodes) {
      for (NodeEntry.Placement p : node.placements()) {
        if (p.agent().equals(agent)) {
          out.add(p);
        }
      }
    }
    return out;
  }

  /** The body of {@code GET /v1/cluster}. */
  public JsonObject toJson() {
    JsonArray ns = new JsonArray();
    JsonArray ps = new JsonArray();
    for (NodeEntry node : nodes) {
      ns.add(node.toJson());
      node.placements().forEach(p -> ps.add(p.toJson()));
    }
    return new JsonObject().put("nodes", ns).put("placements", ps);
  }
}
