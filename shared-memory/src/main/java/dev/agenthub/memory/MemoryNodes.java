package dev.agenthub.memory;

import io.vertx.core.Future;

import java.util.List;
import java.util.Map;

/**
 * The memory nodes of a replicated cluster: each publishes itself, once a second, under its name in
 * the cluster map {@value #MAP}, signed for that name ({@link ReplicaAuth}); an entry expires with
 * its node. A member without the secret cannot write an entry a memory node trusts, so only a
 * memory node may fetch from the writer, and only they are asked to promise a new epoch.
 */
final class MemoryNodes {

  static final String MAP = "agenthub.memory.replicas";
  /** How long an entry outlives its node's last publication. */
  private static final long TTL_MS = 5_000;

  private final ElectionStore cluster;
  private final ReplicaAuth auth;
  private final String node;

  MemoryNodes(ElectionStore cluster, ReplicaAuth auth, String node) {
    this.cluster = cluster;
    this.auth = auth;
    this.node = node;
  }

  /** Says that this node is a memory node, with its copy at {@code position}. */
  Future<Void> publish(MarkdownStore.Position position) {
    return cluster.put(MAP, node, auth.sealReplica(node, position.epoch() + "|" + position.seq()), TTL_MS);
  }

  /** True when {@code other} is a memory node of this cluster: its entry is there, signed for its name. */
  Future<Boolean> known(String other) {
    if (other == null || other.isEmpty()) {
      return Future.succeededFuture(false);
    }
    return cluster.get(MAP, other).map(sealed -> {
      boolean signed = sealed != null && auth.openReplica(other, sealed) != null;
      if (sealed != null && !signed) {
        ReplicaAuth.refused("the entry of " + other + " in " + MAP, null);
      }
      return signed;
    });
  }

  /** The memory nodes whose entries are signed for their names, this one included if it published. */
  Future<List<String>> all() {
    return cluster.entries(MAP).map(all -> all.entrySet().stream()
      .filter(e -> auth.openReplica(e.getKey(), e.getValue()) != null).map(Map.Entry::getKey).toList());
  }
}
