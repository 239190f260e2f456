package dev.agenthub.memory;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxException;
import io.vertx.core.shareddata.Lock;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * The election's cluster structures in one JVM, kept as Hazelcast keeps them: a lock has one holder
 * at a time, the others wait up to their timeout and get it in turn; the locks of a member that
 * leaves are given back (its handles then release nothing); counters add atomically; maps compare
 * values as they are and drop an entry once its time to live is over. Each member sees it through
 * {@link #member}; a future completes on the context that asked.
 */
final class InMemoryElectionStore {

  private record Grant(String member, long id) {
  }

  private record Waiter(String member, Promise<Lock> promise, Context context, long timer) {
  }

  private record Entry(String value, long expires) {
  }

  private final Vertx vertx;
  private final Map<String, Grant> held = new HashMap<>();
  private final Map<String, Deque<Waiter>> waiting = new HashMap<>();
  private final Map<String, Long> counters = new HashMap<>();
  private final Map<String, Map<String, Entry>> maps = new HashMap<>();
  private long grants;

  InMemoryElectionStore(Vertx vertx) {
    this.vertx = vertx;
  }

  /** The structures as member {@code name} sees them. */
  ElectionStore member(String name) {
    return new ElectionStore() {
      @Override
      public Future<Lock> lock(String lock, long timeoutMs) {
        return InMemoryElectionStore.this.lock(name, lock, timeoutMs);
      }

      @Override
      public Future<Long> counter(String counter) {
        return Future.succeededFuture(InMemoryElectionStore.this.counter(counter));
      }

      @Override
      public Future<Long> addAndGet(String counter, long delta) {
        return Future.succeededFuture(add(counter, delta));
      }

      @Override
      public Future<String> get(String map, String key) {
        return Future.succeededFuture(value(map, key));
      }

      @Override
      public Future<Map<String, String>> entries(String map) {
        return Future.succeededFuture(InMemoryElectionStore.this.entries(map));
      }

      @Override
      public Future<Void> put(String map, String key, String value, long ttlMs) {
        InMemoryElectionStore.this.put(map, key, value, ttlMs);
        return Future.succeededFuture();
      }

      @Override
      public Future<Boolean> putIfAbsent(String map, String key, String value) {
        return Future.succeededFuture(InMemoryElectionStore.this.putIfAbsent(map, key, value));
      }

      @Override
      public Future<Boolean> replaceIfPresent(String map, String key, String expected, String value) {
        return Future.succeededFuture(replace(map, key, expected, value));
      }
    };
  }

  /** Member {@code name} leaves the cluster: its locks go to the next in line, its handles release nothing. */
  synchronized void leave(String name) {
    held.entrySet().stream().filter(e -> e.getValue().member().equals(name)).map(Map.Entry::getKey).toList()
      .forEach(this::handOn);
    waiting.values().forEach(q -> q.removeIf(w -> {
      if (!w.member().equals(name)) {
        return false;
      }
      vertx.cancelTimer(w.timer());
      w.context().runOnContext(v -> w.promise().tryFail(new VertxException(name + " left the cluster", true)));
      return true;
    }));
  }

  /** The member that holds {@code lock}, or null. */
  synchronized String holder(String lock) {
    Grant g = held.get(lock);
    return g == null ? null : g.member();
  }

  synchronized long counter(String counter) {
    return counters.getOrDefault(counter, 0L);
  }

  synchronized long add(String counter, long delta) {
    return counters.merge(counter, delta, Long::sum);
  }

  synchronized String value(String map, String key) {
    Entry e = live(map).get(key);
    return e == null ? null : e.value();
  }

  synchronized void put(String map, String key, String value, long ttlMs) {
    maps.computeIfAbsent(map, m -> new HashMap<>()).put(key, new Entry(value, ttlMs > 0
      ? System.currentTimeMillis() + ttlMs : Long.MAX_VALUE));
  }

  private synchronized Map<String, String> entries(String map) {
    return live(map).entrySet().stream().collect(Collectors.toMap(Map.Entry::getKey, e -> e.getValue().value()));
  }

  private synchronized boolean putIfAbsent(String map, String key, String value) {
    if (live(map).containsKey(key)) {
      return false;
    }
    put(map, key, value, 0);
    return true;
  }

  private synchronized boolean replace(String map, String key, String expected, String value) {
    Entry e = live(map).get(key);
    if (e == null || !Objects.equals(e.value(), expected)) {
      return false;
    }
    put(map, key, value, 0);
    return true;
  }

  private Map<String, Entry> live(String map) {
    Map<String, Entry> m = maps.computeIfAbsent(map, k -> new HashMap<>());
    long now = System.currentTimeMillis();
    m.values().removeIf(e -> e.expires() <= now);
    return m;
  }

  private synchronized Future<Lock> lock(String member, String lock, long timeoutMs) {
    Context context = vertx.getOrCreateContext();
    if (!held.containsKey(lock)) {
      return Future.succeededFuture(grant(member, lock));
    }
    Promise<Lock> promise = Promise.promise();
    Waiter[] self = new Waiter[1];
    long timer = vertx.setTimer(timeoutMs, id -> {
      synchronized (this) {
        if (!waiting.getOrDefault(lock, new ArrayDeque<>()).remove(self[0])) {
          return; // granted meanwhile
        }
      }
      promise.tryFail(new VertxException("Timed out waiting to get lock " + lock, true));
    });
    self[0] = new Waiter(member, promise, context, timer);
    waiting.computeIfAbsent(lock, k -> new ArrayDeque<>()).add(self[0]);
    return promise.future();
  }

  private Lock grant(String member, String lock) {
    Grant g = new Grant(member, ++grants);
    held.put(lock, g);
    return () -> release(lock, g);
  }

  private synchronized void release(String lock, Grant g) {
    if (g.equals(held.get(lock))) {
      handOn(lock);
    }
  }

  /** Gives {@code lock} to the next member waiting, or frees it. */
  private void handOn(String lock) {
    held.remove(lock);
    Waiter next = waiting.getOrDefault(lock, new ArrayDeque<>()).poll();
    if (next != null) {
      vertx.cancelTimer(next.timer());
      Lock granted = grant(next.member(), lock);
      next.context().runOnContext(v -> next.promise().tryComplete(granted));
    }
  }
}
