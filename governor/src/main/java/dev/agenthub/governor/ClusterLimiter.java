package dev.agenthub.governor;

import dev.agenthub.governor.ledger.Compact;

import com.hazelcast.map.EntryProcessor;
import com.hazelcast.map.IMap;
import com.hazelcast.nio.serialization.compact.CompactSerializer;
import io.vertx.core.Context;
import io.vertx.core.Future;

import java.util.List;
import java.util.Map;

/**
 * A key's buckets kept once for the whole cluster, in a Hazelcast map entry updated atomically on
 * its partition owner (an entry processor), with a backup on another member. Every node takes from
 * the same buckets, so the calls on a key summed over all nodes never exceed its limits, whatever
 * the spread of the load, and a node that dies takes nothing with it: the state moves with its
 * partition, so no capacity is created or lost when nodes join or leave. The owner's wall clock
 * drives the refill. The entry and the processors cross members in Hazelcast's Compact format
 * ({@link #serializers()}).
 */
final class ClusterLimiter implements Limiter {

  static final String MAP = "agenthub.key-buckets";

  /** Bucket levels and the last refill, in wall-clock milliseconds of the partition owner. */
  static final class State {
    double requests;
    double tokens;
    long lastMillis;
  }

  /** Refills, then takes one request and {@code n} tokens if both buckets admit them. */
  static final class Take implements EntryProcessor<String, State, Long> {
    final double rps;
    final double tps;
    final double rcap;
    final double tcap;
    final long n;

    Take(double[] limits, long n) {
      this.rps = limits[0];
      this.tps = limits[1];
      this.rcap = limits[2];
      this.tcap = limits[3];
      this.n = n;
    }

    @Override
    public Long process(Map.Entry<String, State> entry) {
      long now = System.currentTimeMillis();
      State s = entry.getValue();
      if (s == null) {
        // a fresh key starts full, as on a provider that has not seen it for a while
        s = new State();
        s.requests = rcap;
        s.tokens = tcap;
        s.lastMillis = now;
      }
      double elapsed = Math.max(0, now - s.lastMillis) / 1000.0;
      s.requests = Math.min(rcap, s.requests + elapsed * rps);
      s.tokens = Math.min(tcap, s.tokens + elapsed * tps);
      s.lastMillis = Math.max(s.lastMillis, now);
      double needTokens = Math.min(n, tcap);
      long wait;
      if (s.requests + 1e-9 >= 1 && s.tokens + 1e-9 >= needTokens) {
        s.requests -= 1;
        s.tokens -= n;
        wait = 0;
      } else {
        double waitReq = s.requests >= 1 ? 0 : (1 - s.requests) / rps;
        double waitTok = s.tokens >= needTokens ? 0 : (needTokens - s.tokens) / tps;
        wait = Math.max(1_000_000L, (long) Math.ceil(Math.max(waitReq, waitTok) * 1e9));
      }
      entry.setValue(s);
      return wait;
    }
  }

  /** Refunds (positive) or charges (negative) tokens. */
  static final class Settle implements EntryProcessor<String, State, Double> {
    final double tcap;
    final long delta;

    Settle(double tcap, long delta) {
      this.tcap = tcap;
      this.delta = delta;
    }

    @Override
    public Double process(Map.Entry<String, State> entry) {
      State s = entry.getValue();
      if (s == null) {
        return 0.0;
      }
      s.tokens = Math.min(tcap, s.tokens + delta);
      entry.setValue(s);
      return s.requests;
    }
  }

  /** The Compact serializers of the entry and the processors: names on the wire never change. */
  static List<CompactSerializer<?>> serializers() {
    return List.of(
      Compact.of("agenthub.limiter.state", State.class, in -> {
        State s = new State();
        s.requests = in.readFloat64("requests");
        s.tokens = in.readFloat64("tokens");
        s.lastMillis = in.readInt64("lastMillis");
        return s;
      }, (out, s) -> {
        out.writeFloat64("requests", s.requests);
        out.writeFloat64("tokens", s.tokens);
        out.writeInt64("lastMillis", s.lastMillis);
      }),
      Compact.of("agenthub.limiter.take", Take.class,
        in -> new Take(new double[] {in.readFloat64("rps"), in.readFloat64("tps"), in.readFloat64("rcap"),
          in.readFloat64("tcap")}, in.readInt64("n")),
        (out, t) -> {
          out.writeFloat64("rps", t.rps);
          out.writeFloat64("tps", t.tps);
          out.writeFloat64("rcap", t.rcap);
          out.writeFloat64("tcap", t.tcap);
          out.writeInt64("n", t.n);
        }),
      Compact.of("agenthub.limiter.settle", Settle.class,
        in -> new Settle(in.readFloat64("tcap"), in.readInt64("delta")),
        (out, s) -> {
          out.writeFloat64("tcap", s.tcap);
          out.writeInt64("delta", s.delta);
        }));
  }

  private final IMap<String, State> map;
  private final String key;
  private final double[] limits;
  private final Context context;
  private volatile double lastRequests;

  ClusterLimiter(IMap<String, State> map, String key, double[] limits, Context context) {
    this.map = map;
    this.key = key;
    this.limits = limits;
    this.context = context;
    this.lastRequests = limits[2];
  }

  @Override
  public Future<Long> take(long n) {
    return Future.fromCompletionStage(map.submitToKey(key, new Take(limits, n)), context);
  }

  @Override
  public void settle(long n) {
    if (n != 0) {
      map.submitToKey(key, new Settle(limits[3], n)).thenAccept(r -> lastRequests = r);
    }
  }

  @Override
  public double headroom() {
    return Math.max(0, Math.min(1, lastRequests / limits[2]));
  }
}
