package dev.agenthub.channels;

import dev.agenthub.memory.MemoryClient;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.core.shareddata.AsyncMap;

import java.util.function.Consumer;

/**
 * What the cluster knows of each delivery, so that every message is answered once: taken once (a map
 * of seen ids, then the durable inbox entry under the delivery's id, both before the platform's 200),
 * pending under a lease its node renews while it answers ({@link #PENDING}; another node takes it when
 * the lease runs out), and sent (the sent map and the outbox file, written right after the platform's
 * 200 and checked before any send). Keys are {@code <channel id>:<delivery id>}.
 */
final class Deliveries {

  static final String SEEN = "agenthub.channels.seen";
  static final String PENDING = "agenthub.channels.pending";
  static final String SENT = "agenthub.channels.sent";
  static final long SEEN_TTL_MS = 24 * 3_600_000L;
  static final long LEASE_MS = 30_000;

  private final Vertx vertx;
  private final MemoryClient memory;
  private final ChannelEvents events;
  private final String me;

  /** @param me this node's channels verticle, the owner its leases name */
  Deliveries(Vertx vertx, MemoryClient memory, ChannelEvents events, String me) {
    this.vertx = vertx;
    this.memory = memory;
    this.events = events;
    this.me = me;
  }

  static String key(Inbound ask) {
    return ask.channel() + ":" + ask.key();
  }

  /** Takes a delivery once across the cluster, durably: true for its first delivery, false for a duplicate. */
  Future<Boolean> take(Inbound ask) {
    String key = key(ask);
    return map(SEEN).compose(seen -> seen.putIfAbsent(key, new JsonObject().put("at", System.currentTimeMillis()),
      SEEN_TTL_MS)).compose(before -> {
        if (before != null) {
          events.channelMessage(ask.channel(), "in", "duplicate");
          return Future.succeededFuture(false);
        }
        return memory.append("channels/" + ask.channel() + "/inbox.md", "inbound", ask.toJson().encode(),
          "channel-in:" + key).compose(w -> {
            if (w.getBoolean("duplicate", false)) {
              events.channelMessage(ask.channel(), "in", "duplicate");
              return Future.succeededFuture(false);
            }
            events.channelMessage(ask.channel(), "in", "accepted");
            return renew(ask).map(v -> true);
          });
      });
  }

  /** Renews the delivery's lease every third of it while its answer is on its way; answers the timer. */
  long renewing(Inbound ask) {
    return vertx.setPeriodic(LEASE_MS / 3, id -> renew(ask));
  }

  private Future<Void> renew(Inbound ask) {
    return map(PENDING).compose(p -> p.put(key(ask), lease(ask), LEASE_MS * 20));
  }

  private JsonObject lease(Inbound ask) {
    return new JsonObject().put("inbound", ask.toJson()).put("owner", me)
      .put("lease_until", System.currentTimeMillis() + LEASE_MS);
  }

  /** Whether its reply was sent already (by this node or one that died after sending). */
  Future<Boolean> sent(Inbound ask) {
    return map(SENT).compose(sent -> sent.get(key(ask))).map(r -> r != null);
  }

  /** Its reply was sent: recorded in the sent map and the outbox file, then no longer pending. */
  Future<Void> recordSent(Inbound ask) {
    String key = key(ask);
    return map(SENT).compose(sent -> sent.put(key, new JsonObject().put("at", System.currentTimeMillis()),
      SEEN_TTL_MS)).compose(v -> memory.append("channels/" + ask.channel() + "/outbox.md", "sent", key,
      "channel-out:" + key)).mapEmpty();
  }

  /** No longer pending (answered). */
  Future<Void> done(Inbound ask) {
    return map(PENDING).compose(p -> p.remove(key(ask))).mapEmpty();
  }

  /** Deliveries whose owner's lease ran out (its node died, or its send failed): taken, and handed to {@code answer}. */
  void takeOver(Consumer<Inbound> answer) {
    long now = System.currentTimeMillis();
    map(PENDING).compose(p -> p.entries().map(all -> {
      all.forEach((key, value) -> {
        if (value.getLong("lease_until", 0L) < now) {
          Inbound ask = Inbound.fromJson(value.getJsonObject("inbound"));
          p.replaceIfPresent(key, value, lease(ask)).onSuccess(taken -> {
            if (taken) {
              answer.accept(ask);
            }
          });
        }
      });
      return null;
    }));
  }

  private Future<AsyncMap<String, JsonObject>> map(String name) {
    return vertx.sharedData().getAsyncMap(name);
  }
}
