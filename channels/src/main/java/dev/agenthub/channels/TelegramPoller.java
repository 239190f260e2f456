package dev.agenthub.channels;

import dev.agenthub.config.HubConfig;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.shareddata.AsyncMap;

import java.util.function.Consumer;
import java.util.function.Function;
import java.util.logging.Logger;

/**
 * A Telegram channel in polling mode: exactly one node of the cluster calls {@code getUpdates} (Telegram
 * refuses two at once), the one holding the channel's lease in {@link #LEASES}, renewed every few
 * seconds; when its node dies the lease runs out and another node takes it within
 * {@value #LEASE_MS} ms. Each update is taken (once, durably) before the offset passes it, and the
 * offset is kept in {@link #OFFSETS}, so a new poller neither loses nor repeats an update.
 */
final class TelegramPoller {

  static final String LEASES = "agenthub.channels.pollers";
  static final String OFFSETS = "agenthub.channels.offsets";
  static final long LEASE_MS = 6_000;
  static final int LONG_POLL_SECONDS = 10;
  private static final Logger LOG = Logger.getLogger(TelegramPoller.class.getName());

  private final Vertx vertx;
  private final HubConfig.Channel channel;
  private final String token;
  private final Outbox outbox;
  private final String me;
  private final String node;
  private final Function<Inbound, Future<Boolean>> accept;
  private final Consumer<Inbound> answer;
  private final ChannelEvents events;
  private boolean polling;
  private boolean stopped;
  private long timer;

  /** @param node this node's name, in the lease for those who look (the dashboard, tests) */
  TelegramPoller(Vertx vertx, HubConfig.Channel channel, String token, Outbox outbox, String me, String node,
                 Function<Inbound, Future<Boolean>> accept, Consumer<Inbound> answer, ChannelEvents events) {
    this.node = node;
    this.vertx = vertx;
    this.channel = channel;
    this.token = token;
    this.outbox = outbox;
    this.me = me;
    this.accept = accept;
    this.answer = answer;
    this.events = events;
  }

  void start() {
    timer = vertx.setPeriodic(LEASE_MS / 3, id -> lease());
    lease();
  }

  void stop() {
    stopped = true;
    vertx.cancelTimer(timer);
    // the lease is let go at once: another node need not wait for it to run out
    map(LEASES).compose(m -> m.get(channel.id()).compose(l -> l != null && me.equals(l.getString("owner"))
      ? m.removeIfPresent(channel.id(), l) : Future.succeededFuture(false)));
  }

  /** Takes or renews the lease; the holder polls. */
  private void lease() {
    if (stopped) {
      return;
    }
    long now = System.currentTimeMillis();
    JsonObject mine = new JsonObject().put("owner", me).put("node", node).put("until", now + LEASE_MS);
    map(LEASES).compose(m -> m.get(channel.id()).compose(held -> {
      if (held == null) {
        return m.putIfAbsent(channel.id(), mine).map(prev -> prev == null);
      }
      if (me.equals(held.getString("owner")) || held.getLong("until", 0L) < now) {
        return m.replaceIfPresent(channel.id(), held, mine);
      }
      return Future.succeededFuture(false);
    })).onSuccess(holder -> {
      if (holder && !polling) {
        polling = true;
        LOG.info("channel " + channel.id() + ": this node polls Telegram");
        outbox.call(channel, token, "deleteWebhook", new JsonObject().put("drop_pending_updates", false))
          .onComplete(ar -> poll());
      } else if (!holder) {
        polling = false;
      }
    });
  }

  private void poll() {
    if (stopped || !polling) {
      polling = false;
      return;
    }
    map(OFFSETS).compose(m -> m.get(channel.id())).compose(offset -> outbox.call(channel, token, "getUpdates",
        new JsonObject().put("offset", offset == null ? 0 : offset.getLong("offset", 0L))
          .put("timeout", LONG_POLL_SECONDS).put("allowed_updates", new JsonArray().add("message"))))
      .compose(r -> take(r.getJsonArray("result", new JsonArray()), 0, -1))
      .onComplete(ar -> {
        if (ar.failed()) {
          LOG.info("channel " + channel.id() + ": getUpdates failed (" + ar.cause().getMessage() + ")");
          vertx.setTimer(2_000, t -> poll());
        } else {
          poll();
        }
      });
  }

  /** Each update taken in order; the offset passes it only once it is durable. */
  private Future<Void> take(JsonArray updates, int i, long last) {
    if (i >= updates.size()) {
      return last < 0 ? Future.succeededFuture() : map(OFFSETS).compose(m -> m.put(channel.id(),
        new JsonObject().put("offset", last + 1)));
    }
    JsonObject update = updates.getJsonObject(i);
    long id = update.getLong("update_id", -1L);
    Inbound ask = TelegramWire.ask(channel.id(), update);
    Future<Void> done;
    if (ask == null) {
      events.channelMessage(channel.id(), "in", "ignored");
      done = Future.succeededFuture();
    } else if (!channel.allows(ask.chat(), ask.user())) {
      events.channelMessage(channel.id(), "in", "ignored");
      events.audit("channel_ignored", new JsonObject().put("channel", channel.id()).put("chat", ask.chat())
        .put("user", ask.user()).put("reason", "not in allow-from"));
      done = Future.succeededFuture();
    } else {
      done = accept.apply(ask).map(first -> {
        if (first) {
          answer.accept(ask);
        }
        return null;
      });
    }
    return done.compose(v -> take(updates, i + 1, Math.max(last, id)));
  }

  private Future<AsyncMap<String, JsonObject>> map(String name) {
    return vertx.sharedData().getAsyncMap(name);
  }
}
