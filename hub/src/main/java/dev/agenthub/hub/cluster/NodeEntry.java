package dev.agenthub.hub.cluster;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.List;

/**
 * What a node tells the cluster about itself (carried as the Vert.x cluster node metadata): its name,
 * roles, HTTP address, start time and its bridge's {@code host:port} (null: off). Where agent instances run is computed from these by every
 * node alike ({@link PlacementPlan}), so it needs no announcement.
 */
public record NodeEntry(String nodeId, String name, List<String> roles, String address, String since, String bridge) {

  public NodeEntry {
    roles = List.copyOf(roles);
  }

  /** A node without a bridge. */
  public NodeEntry(String nodeId, String name, List<String> roles, String address, String since) {
    this(nodeId, name, roles, address, since, null);
  }

  /**
   * One agent instance on one node. {@code instance} is the slot ({@code support-0}) sessions are
   * ranked by; {@link #id()} adds the node, so an instance that moves gets a new event-bus address
   * and nothing can reach the copy that died with its node.
   */
  public record Placement(String agent, String instance, String node) {
    public String id() {
      return instance + "@" + node;
    }

    public JsonObject toJson() {
      return new JsonObject().put("agent", agent).put("instance", id()).put("node", node);
    }
  }

  public NodeEntry withNodeId(String id) {
    return new NodeEntry(id, name, roles, address, since, bridge);
  }

  /** The metadata form (no node id: the cluster manager knows it). */
  public JsonObject toMetadata() {
    return new JsonObject().put(MARK, 1).put("name", name).put("roles", new JsonArray(roles)).put("address", address)
      .put("since", since).put("bridge", bridge);
  }

  /**
   * The metadata key that marks an agenthub node: a Vert.x application that joins the cluster (to send
   * messages to agents) has none, and is never taken for a node.
   */
  static final String MARK = "agenthub-node";

  /** Parses metadata; null when it is not an agenthub node's. */
  public static NodeEntry fromMetadata(String nodeId, JsonObject json) {
    if (json == null || !json.containsKey(MARK) || !(json.getValue("name") instanceof String)) {
      return null;
    }
    List<String> roles = new ArrayList<>();
    json.getJsonArray("roles", new JsonArray()).forEach(r -> roles.add(String.valueOf(r)));
    return new NodeEntry(nodeId, json.getString("name"), roles, json.getString("address"), json.getString("since"),
      json.getValue("bridge") instanceof String b ? b : null);
  }

  public JsonObject toJson() {
    return new JsonObject().put("name", name).put("roles", new JsonArray(roles)).put("address", address)
      .put("since", since).put("bridge", bridge);
  }
}
