package dev.agenthub.hub.cluster;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.List;

/**
 * What a node tells the cluster about itself (carried as the Vert.x cluster node metadata): its name,
 * roles, HTTP address, start time and the agent instances it runs.
 */
public record NodeEntry(String nodeId, String name, List<String> roles, String address, String since,
                        List<Placement> placements) {

  public NodeEntry {
    roles = List.copyOf(roles);
    placements = List.copyOf(placements);
  }

  /** One agent instance on one node. */
  public record Placement(String agent, String instance, String node) {
    public JsonObject toJson() {
      return new JsonObject().put("agent", agent).put("instance", instance).put("node", node);
    }
  }

  public NodeEntry withNodeId(String id) {
    return new NodeEntry(id, name, roles, address, since, placements);
  }

  /** The metadata form (no node id: the cluster manager knows it). */
  public JsonObject toMetadata() {
    JsonArray ps = new JsonArray();
    placements.forEach(p -> ps.add(new JsonObject().put("agent", p.agent()).put("instance", p.instance())));
    return new JsonObject().put("name", name).put("roles", new JsonArray(roles)).put("address", address)
      .put("since", since).put("placements", ps);
  }

  /** Parses metadata; null when it is not an agenthub node's. */
  public static NodeEntry fromMetadata(String nodeId, JsonObject json) {
    if (json == null || json.getString("name") == null) {
      return null;
    }
    String name = json.getString("name");
    List<Placement> placements = new ArrayList<>();
    JsonArray ps = json.getJsonArray("placements", new JsonArray());
    for (int i = 0; i < ps.size(); i++) {
      JsonObject p = ps.getJsonObject(i);
      placements.add(new Placement(p.getString("agent"), p.getString("instance"), name));
    }
    List<String> roles = new ArrayList<>();
    json.getJsonArray("roles", new JsonArray()).forEach(r -> roles.add(String.valueOf(r)));
    return new NodeEntry(nodeId, name, roles, json.getString("address"), json.getString("since"), placements);
  }

  public JsonObject toJson() {
    return new JsonObject().put("name", name).put("roles", new JsonArray(roles)).put("address", address)
      .put("since", since);
  }
}
