package dev.agenthub.memory;

/**
 * The event-bus addresses of replicated memory ({@code memory.replicas} of 2 or more), used between
 * memory nodes only. The writer's own ({@link #FETCH}, {@link #SNAPSHOT}) are served by whichever
 * node writes; the rest are each replica's, named after its node.
 */
final class ReplicaAddresses {

  /** {@code {node, epoch, seq}} to the writer: batches after that, a snapshot order, or "following". */
  static final String FETCH = "memory.replica.fetch";
  /** {@code {node, cursor}} to the writer: one part of a snapshot of its files. */
  static final String SNAPSHOT = "memory.replica.snapshot";

  private ReplicaAddresses() {
  }

  /** A batch (its journal frames; headers {@code epoch}, {@code seq}) from the writer to one follower. */
  static String append(String node) {
    return "memory.replica." + node + ".append";
  }

  /** {@code {epoch}}: promise to follow no older writer; answers the replica's position. */
  static String promise(String node) {
    return "memory.replica." + node + ".promise";
  }
}
