package dev.agenthub.memory;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.shareddata.Lock;

import java.util.Map;

/**
 * The cluster structures the memory writer's election stands on: named locks (one holder at a time,
 * given back by the cluster when their holder's member leaves), counters, and maps of strings that
 * compare values as they are. In a cluster they are Hazelcast's, through Vert.x shared data
 * ({@link #cluster}); the election's unit tests keep them in memory.
 */
interface ElectionStore {

  /** The lock {@code name} once it is free, or a failure if it is not within {@code timeoutMs}. */
  Future<Lock> lock(String name, long timeoutMs);

  /** The counter {@code name} as it is (0 before it was ever changed). */
  Future<Long> counter(String name);

  /** Adds {@code delta} to the counter {@code name}; answers its new value. */
  Future<Long> addAndGet(String name, long delta);

  /** The value under {@code key} in the map {@code map}, or null. */
  Future<String> get(String map, String key);

  /** Every entry of the map {@code map}. */
  Future<Map<String, String>> entries(String map);

  /** Puts {@code value} under {@code key}, dropped {@code ttlMs} later unless put again. */
  Future<Void> put(String map, String key, String value, long ttlMs);

  /** Puts {@code value} if {@code key} has none; true if it did. */
  Future<Boolean> putIfAbsent(String map, String key, String value);

  /** Replaces the value of {@code key} if it is still {@code expected}; true if it did. */
  Future<Boolean> replaceIfPresent(String map, String key, String expected, String value);

  /** The cluster's own (Hazelcast's, through {@code vertx.sharedData()}). */
  static ElectionStore cluster(Vertx vertx) {
    return new ClusterElectionStore(vertx);
  }
}
