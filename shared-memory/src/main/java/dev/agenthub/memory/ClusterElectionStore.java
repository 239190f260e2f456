package dev.agenthub.memory;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.shareddata.AsyncMap;
import io.vertx.core.shareddata.Lock;

import java.util.Map;

/** The election's structures in the cluster: Vert.x shared data, which the cluster manager keeps. */
final class ClusterElectionStore implements ElectionStore {

  private final Vertx vertx;

  ClusterElectionStore(Vertx vertx) {
    this.vertx = vertx;
  }

  private Future<AsyncMap<String, String>> map(String name) {
    return vertx.sharedData().getClusterWideMap(name);
  }

  @Override
  public Future<Lock> lock(String name, long timeoutMs) {
    return vertx.sharedData().getLockWithTimeout(name, timeoutMs);
  }

  @Override
  public Future<Long> counter(String name) {
    return vertx.sharedData().getCounter(name).compose(c -> c.get());
  }

  @Override
  public Future<Long> addAndGet(String name, long delta) {
    return vertx.sharedData().getCounter(name).compose(c -> c.addAndGet(delta));
  }

  @Override
  public Future<String> get(String map, String key) {
    return map(map).compose(m -> m.get(key));
  }

  @Override
  public Future<Map<String, String>> entries(String map) {
    return map(map).compose(m -> m.entries());
  }

  @Override
  public Future<Void> put(String map, String key, String value, long ttlMs) {
    return map(map).compose(m -> m.put(key, value, ttlMs));
  }

  @Override
  public Future<Boolean> putIfAbsent(String map, String key, String value) {
    return map(map).compose(m -> m.putIfAbsent(key, value)).map(previous -> previous == null);
  }

  @Override
  public Future<Boolean> replaceIfPresent(String map, String key, String expected, String value) {
    return map(map).compose(m -> m.replaceIfPresent(key, expected, value));
  }
}
