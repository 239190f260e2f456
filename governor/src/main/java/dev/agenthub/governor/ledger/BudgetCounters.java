package dev.agenthub.governor.ledger;


import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.EntryProcessor;
import com.hazelcast.map.IMap;
import com.hazelcast.nio.serialization.compact.CompactReader;
import com.hazelcast.nio.serialization.compact.CompactSerializer;
import com.hazelcast.nio.serialization.compact.CompactWriter;
import io.vertx.core.Future;
import io.vertx.core.Vertx;

import java.util.AbstractMap;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Each budget's spend for its period, and the money held for calls in flight, kept once for the
 * cluster: a Hazelcast map entry per budget and period, changed only by entry processors on its
 * partition owner (with a backup), so a hold is checked and taken in one step however many nodes
 * ask at once. Before a call the governor holds its highest possible cost against every budget that
 * applies; when the answer comes the hold settles into the real cost. A budget refuses a hold that
 * would take spent plus held past its limit, so with {@code on-exceed: block} spend never passes it.
 * Holds are kept per holder (a Hazelcast member): the holds of a member that left are dropped by the
 * ledger's sweep. Without a cluster the same processors run on a local map. The counters and the
 * processors cross members in Hazelcast's Compact format ({@link #serializers()}).
 */
public final class BudgetCounters {

  static final String MAP = "agenthub.budget-counters";
  private static final double EPSILON = 1e-12;

  /**
   * Spent (settled) USD in the period, USD held by each holder for calls in flight, and how many
   * holds it refused (the budget is reached once it refused one).
   */
  public static final class Counter {
    double used;
    long refusals;
    final HashMap<String, Double> held = new HashMap<>();

    double held() {
      double sum = 0;
      for (double v : held.values()) {
        sum += v;
      }
      return sum;
    }
  }

  /** Holds {@code usd} if spent plus held plus it stays within the limit (or when forced). */
  static final class Hold implements EntryProcessor<String, Counter, Boolean> {
    final String holder;
    final double usd;
    final Map<String, Double> limits;
    final boolean force;

    Hold(String holder, double usd, Map<String, Double> limits, boolean force) {
      this.holder = holder;
      this.usd = usd;
      this.limits = limits;
      this.force = force;
    }

    @Override
    public Boolean process(Map.Entry<String, Counter> entry) {
      Counter c = entry.getValue() == null ? new Counter() : entry.getValue();
      double limit = limits.getOrDefault(entry.getKey(), Double.MAX_VALUE);
      if (!force && usd > 0 && c.used + c.held() + usd > limit + EPSILON) {
        c.refusals++;
        entry.setValue(c);
        return false;
      }
      c.held.merge(holder, usd, Double::sum);
      entry.setValue(c);
      return true;
    }
  }

  /** Gives back a hold and adds the call's real cost. */
  static final class Settle implements EntryProcessor<String, Counter, Void> {
    final String holder;
    final double heldUsd;
    final double costUsd;

    Settle(String holder, double heldUsd, double costUsd) {
      this.holder = holder;
      this.heldUsd = heldUsd;
      this.costUsd = costUsd;
    }

    @Override
    public Void process(Map.Entry<String, Counter> entry) {
      Counter c = entry.getValue();
      if (c == null) {
        // the period's counter is gone (swept after the period ended): nothing to give back
        return null;
      }
      Double left = c.held.get(holder);
      if (left != null) {
        double now = left - heldUsd;
        if (now <= EPSILON) {
          c.held.remove(holder);
        } else {
          c.held.put(holder, now);
        }
      }
      c.used += costUsd;
      entry.setValue(c);
      return null;
    }
  }

  /** Sets the period's spend as the ledger rebuilt it, unless the cluster holds the counter already. */
  static final class Seed implements EntryProcessor<String, Counter, Void> {
    final Map<String, Double> used;

    Seed(Map<String, Double> used) {
      this.used = used;
    }

    @Override
    public Void process(Map.Entry<String, Counter> entry) {
      if (entry.getValue() == null) {
        Counter c = new Counter();
        c.used = used.getOrDefault(entry.getKey(), 0.0);
        entry.setValue(c);
      }
      return null;
    }
  }

  /** {@code [used, held, refusals]} of a counter. */
  static final class Read implements EntryProcessor<String, Counter, double[]> {

    @Override
    public double[] process(Map.Entry<String, Counter> entry) {
      Counter c = entry.getValue();
      return c == null ? new double[] {0, 0, 0} : new double[] {c.used, c.held(), c.refusals};
    }
  }

  /** Drops the holds of holders that are gone, and counters of ended periods that hold nothing. */
  static final class Sweep implements EntryProcessor<String, Counter, Void> {
    final Set<String> live;
    final Set<String> periods;

    Sweep(Set<String> live, Set<String> periods) {
      this.live = live;
      this.periods = periods;
    }

    @Override
    public Void process(Map.Entry<String, Counter> entry) {
      Counter c = entry.getValue();
      if (c == null) {
        return null;
      }
      boolean changed = c.held.keySet().removeIf(h -> !live.contains(h));
      if (!periods.contains(BudgetScope.periodOf(entry.getKey())) && c.held.isEmpty()) {
        entry.setValue(null);
      } else if (changed) {
        entry.setValue(c);
      }
      return null;
    }
  }

  /** The Compact serializers of the counter and the processors: names on the wire never change. */
  public static List<CompactSerializer<?>> serializers() {
    return List.of(
      Compact.of("agenthub.budget.counter", Counter.class, in -> {
        Counter c = new Counter();
        c.used = in.readFloat64("used");
        c.refusals = in.readInt64("refusals");
        c.held.putAll(readMap(in, "holders", "heldUsd"));
        return c;
      }, (out, c) -> {
        out.writeFloat64("used", c.used);
        out.writeInt64("refusals", c.refusals);
        writeMap(out, "holders", "heldUsd", c.held);
      }),
      Compact.of("agenthub.budget.hold", Hold.class,
        in -> new Hold(in.readString("holder"), in.readFloat64("usd"), readMap(in, "keys", "limitUsd"),
          in.readBoolean("force")),
        (out, h) -> {
          out.writeString("holder", h.holder);
          out.writeFloat64("usd", h.usd);
          writeMap(out, "keys", "limitUsd", h.limits);
          out.writeBoolean("force", h.force);
        }),
      Compact.of("agenthub.budget.settle", Settle.class,
        in -> new Settle(in.readString("holder"), in.readFloat64("heldUsd"), in.readFloat64("costUsd")),
        (out, s) -> {
          out.writeString("holder", s.holder);
          out.writeFloat64("heldUsd", s.heldUsd);
          out.writeFloat64("costUsd", s.costUsd);
        }),
      Compact.of("agenthub.budget.seed", Seed.class,
        in -> new Seed(readMap(in, "keys", "usedUsd")),
        (out, s) -> writeMap(out, "keys", "usedUsd", s.used)),
      Compact.of("agenthub.budget.read", Read.class, in -> new Read(), (out, r) -> {
      }),
      Compact.of("agenthub.budget.sweep", Sweep.class,
        in -> new Sweep(Set.of(in.readArrayOfString("live")), Set.of(in.readArrayOfString("periods"))),
        (out, s) -> {
          out.writeArrayOfString("live", s.live.toArray(String[]::new));
          out.writeArrayOfString("periods", s.periods.toArray(String[]::new));
        }));
  }

  /** A map of USD by name as two arrays of the same length. */
  private static void writeMap(CompactWriter out, String names, String usd, Map<String, Double> map) {
    String[] keys = new String[map.size()];
    double[] values = new double[map.size()];
    int i = 0;
    for (Map.Entry<String, Double> e : map.entrySet()) {
      keys[i] = e.getKey();
      values[i++] = e.getValue();
    }
    out.writeArrayOfString(names, keys);
    out.writeArrayOfFloat64(usd, values);
  }

  private static Map<String, Double> readMap(CompactReader in, String names, String usd) {
    String[] keys = in.readArrayOfString(names);
    double[] values = in.readArrayOfFloat64(usd);
    Map<String, Double> map = new LinkedHashMap<>();
    for (int i = 0; i < keys.length; i++) {
      map.put(keys[i], values[i]);
    }
    return map;
  }

  private final Vertx vertx;
  private final IMap<String, Counter> cluster;
  private final HazelcastInstance hazelcast;
  private final ConcurrentHashMap<String, Counter> local;
  private final String holder;

  /** @param hazelcast the cluster's member, or null for a hub alone */
  public BudgetCounters(Vertx vertx, HazelcastInstance hazelcast) {
    this.vertx = vertx;
    this.hazelcast = hazelcast;
    this.cluster = hazelcast == null ? null : hazelcast.getMap(MAP);
    this.local = hazelcast == null ? new ConcurrentHashMap<>() : null;
    this.holder = hazelcast == null ? "local" : hazelcast.getCluster().getLocalMember().getUuid().toString();
  }

  /**
   * Holds {@code usd} against every scope, all or none: null when each budget took it; else the
   * first budget that would pass its limit (and nothing is held). {@code force} holds past the
   * limits (a downgraded call still counts).
   */
  public Future<BudgetScope> hold(List<BudgetScope> scopes, double usd, boolean force) {
    if (scopes.isEmpty()) {
      return Future.succeededFuture();
    }
    Map<String, Double> limits = new HashMap<>();
    scopes.forEach(s -> limits.put(s.key(), s.limitUsd()));
    return run(limits.keySet(), new Hold(holder, usd, limits, force)).compose(results -> {
      Set<String> taken = new HashSet<>();
      results.forEach((k, ok) -> {
        if (Boolean.TRUE.equals(ok)) {
          taken.add(k);
        }
      });
      if (taken.size() == limits.size()) {
        return Future.succeededFuture();
      }
      BudgetScope refused = scopes.stream().filter(s -> !taken.contains(s.key())).findFirst().orElseThrow();
      return run(taken, new Settle(holder, usd, 0)).map(refused);
    });
  }

  /** Turns a hold into the call's real cost (0 for a call that failed or was answered from cache). */
  public Future<Void> settle(List<BudgetScope> scopes, double heldUsd, double costUsd) {
    if (scopes.isEmpty()) {
      return Future.succeededFuture();
    }
    Set<String> keys = new HashSet<>();
    scopes.forEach(s -> keys.add(s.key()));
    return run(keys, new Settle(holder, heldUsd, costUsd)).mapEmpty();
  }

  /** Starts each counter not in the cluster yet at the spend the ledger rebuilt from its journals. */
  public Future<Void> seed(Map<String, Double> usedByKey) {
    return usedByKey.isEmpty() ? Future.succeededFuture() : run(usedByKey.keySet(), new Seed(usedByKey)).mapEmpty();
  }

  /** {@code [used, held, refusals]} by counter key. */
  public Future<Map<String, double[]>> read(Collection<String> keys) {
    return keys.isEmpty() ? Future.succeededFuture(Map.of()) : run(new HashSet<>(keys), new Read());
  }

  /** Drops holds of members no longer in the cluster and counters of periods other than {@code periods}. */
  public Future<Void> sweep(Set<String> periods) {
    if (hazelcast == null) {
      local.entrySet().removeIf(e -> !periods.contains(BudgetScope.periodOf(e.getKey())) && e.getValue().held.isEmpty());
      return Future.succeededFuture();
    }
    Set<String> live = new HashSet<>();
    hazelcast.getCluster().getMembers().forEach(m -> live.add(m.getUuid().toString()));
    Sweep sweep = new Sweep(live, periods);
    return vertx.executeBlocking(() -> {
      cluster.executeOnEntries(sweep);
      return null;
    }, false);
  }

  private <R> Future<Map<String, R>> run(Set<String> keys, EntryProcessor<String, Counter, R> processor) {
    if (local != null) {
      Map<String, R> out = new HashMap<>();
      for (String key : keys) {
        local.compute(key, (k, v) -> {
          Map.Entry<String, Counter> entry = new AbstractMap.SimpleEntry<>(k, v);
          out.put(k, processor.process(entry));
          return entry.getValue();
        });
      }
      return Future.succeededFuture(out);
    }
    CompletionStage<Map<String, R>> stage = cluster.submitToKeys(keys, processor);
    return Future.fromCompletionStage(stage, vertx.getOrCreateContext());
  }
}
