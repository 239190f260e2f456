package dev.agenthub.memory;

/**
 * Where a copy of replicated memory stands, as {@code /v1/cluster} and the dashboard show it
 * ({@link #id()}): the writer's view of each follower, and a follower's view of itself.
 */
enum ReplicaState {
  /** Writes the memory. */
  WRITER("writer"),
  /** In the writer's in-sync set: every batch waits for it. */
  FOLLOWING("following"),
  /** In sync, beyond the copies {@code memory.replicas} asks for: no batch waits for it. */
  STANDBY("standby"),
  /** Applying the batches it lacks. */
  CATCHING_UP("catching-up"),
  /** Replacing its files by a snapshot of the writer's: not whole until it is done. */
  INSTALLING("installing"),
  /** Left the in-sync set (failed or lagged), or has no writer to follow. */
  BEHIND("behind");

  private final String id;

  ReplicaState(String id) {
    this.id = id;
  }

  String id() {
    return id;
  }

  /** In sync with the writer (or the writer): a copy a rolling restart may leave behind. */
  boolean inSync() {
    return this == WRITER || this == FOLLOWING || this == STANDBY;
  }
}
