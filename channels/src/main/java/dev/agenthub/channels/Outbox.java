package dev.agenthub.channels;

import dev.agenthub.config.HubConfig;
import dev.agenthub.governor.TokenBucket;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;

import java.net.URI;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.logging.Logger;

/**
 * Messages to the platforms, paced within their limits: one chat's messages one at a time and at
 * most one a second (Telegram groups also 20 a minute; every Telegram bot 30 a second), a 429 waits
 * what the platform says ({@code parameters.retry_after}, {@code Retry-After}) and tries again, a
 * chat's queue is bounded. Tokens go in the URL (Telegram) or a header (Slack) and never into a log.
 * Lives on the channels verticle's context.
 */
final class Outbox {

  static final int MAX_QUEUE = 200;
  static final int MAX_ATTEMPTS = 6;
  private static final Logger LOG = Logger.getLogger(Outbox.class.getName());

  /** One platform call to make. */
  record Call(HubConfig.Channel channel, String token, String method, JsonObject body, String chat, boolean group) {
  }

  private final Vertx vertx;
  private final HttpClient http;
  private final ChannelEvents events;
  private final Map<String, ArrayDeque<Runnable>> queues = new HashMap<>();
  private final Map<String, Boolean> busy = new HashMap<>();
  private final Map<String, TokenBucket> buckets = new HashMap<>();

  Outbox(Vertx vertx, HttpClient http, ChannelEvents events) {
    this.vertx = vertx;
    this.http = http;
    this.events = events;
  }

  /** Messages waiting or in flight in one chat (for the gauge and the tests). */
  int depth(String channel, String chat) {
    ArrayDeque<Runnable> q = queues.get(channel + "|" + chat);
    return (q == null ? 0 : q.size()) + (Boolean.TRUE.equals(busy.get(channel + "|" + chat)) ? 1 : 0);
  }

  /** Sends after the chat's earlier messages; fails when the queue is full or the platform refuses. */
  Future<JsonObject> send(Call call) {
    String key = call.channel().id() + "|" + call.chat();
    ArrayDeque<Runnable> queue = queues.computeIfAbsent(key, k -> new ArrayDeque<>());
    if (queue.size() >= MAX_QUEUE) {
      events.channelMessage(call.channel().id(), "out", "dropped");
      return Future.failedFuture(new IllegalStateException("the chat's queue is full"));
    }
    Promise<JsonObject> done = Promise.promise();
    long started = System.nanoTime();
    queue.add(() -> attempt(call, 1).onComplete(ar -> {
      if (ar.succeeded()) {
        events.channelSend(call.channel().id(), System.nanoTime() - started);
      }
      done.handle(ar);
      busy.put(key, false);
      next(key);
    }));
    if (!Boolean.TRUE.equals(busy.get(key))) {
      next(key);
    }
    return done.future();
  }

  /**
   * An answer to a message, in as many messages as the platform's limit needs: Slack's
   * {@code chat.postMessage} in the message's thread, Telegram's {@code sendMessage}.
   */
  Future<Void> reply(HubConfig.Channel channel, String token, Inbound to, String text) {
    Future<Void> all = Future.succeededFuture();
    if (channel.type() == HubConfig.ChannelType.SLACK) {
      for (String part : TelegramWire.split(text, SlackWire.MAX_TEXT)) {
        all = all.compose(v -> send(new Call(channel, token, "chat.postMessage", SlackWire.postMessage(to, part),
          to.chat(), to.group())).mapEmpty());
      }
    } else {
      for (JsonObject body : TelegramWire.sendMessages(to, text)) {
        all = all.compose(v -> send(new Call(channel, token, "sendMessage", body, to.chat(), to.group())).mapEmpty());
      }
    }
    return all.onSuccess(v -> events.channelMessage(channel.id(), "out", "sent"));
  }

  /** A platform call outside any chat's queue (setWebhook, auth.test, typing): not paced, not retried. */
  Future<JsonObject> call(HubConfig.Channel channel, String token, String method, JsonObject body) {
    return post(new Call(channel, token, method, body, null, false)).compose(r -> r.result() != null
      ? Future.succeededFuture(r.result())
      : Future.failedFuture(new IllegalStateException(method + " failed: " + r.error())));
  }

  private void next(String key) {
    ArrayDeque<Runnable> queue = queues.get(key);
    Runnable task = queue == null ? null : queue.poll();
    if (task == null) {
      if (queue != null) {
        queues.remove(key);
      }
      busy.remove(key);
      return;
    }
    busy.put(key, true);
    task.run();
  }

  private Future<JsonObject> attempt(Call call, int n) {
    return paced(call).compose(v -> post(call)).compose(r -> {
      if (r.result() != null) {
        return Future.succeededFuture(r.result());
      }
      if (r.retryAfterMs() >= 0 && n < MAX_ATTEMPTS) {
        Promise<JsonObject> later = Promise.promise();
        vertx.setTimer(Math.max(50, r.retryAfterMs()), t -> attempt(call, n + 1).onComplete(later));
        return later.future();
      }
      return Future.failedFuture(new IllegalStateException(call.method() + " failed: " + r.error()));
    });
  }

  /** Waits until the chat's, the group's and the bot's buckets have room, then takes from each. */
  private Future<Void> paced(Call call) {
    long now = System.nanoTime();
    List<TokenBucket> limits = limits(call, now);
    long wait = 0;
    for (TokenBucket b : limits) {
      wait = Math.max(wait, b.nanosUntil(1, now));
    }
    if (wait > 0) {
      Promise<Void> later = Promise.promise();
      vertx.setTimer(Math.max(1, wait / 1_000_000), t -> paced(call).onComplete(later));
      return later.future();
    }
    limits.forEach(b -> b.tryTake(1, now));
    return Future.succeededFuture();
  }

  /**
   * The buckets a call takes from. Capacity 1 spaces messages evenly: the platforms count in sliding
   * windows, where a full bucket's burst plus its refill would pass their limit; a bot's 30 a second
   * is paced at 25, for requests waiting for a connection reach the platform bunched (seen: 2 429s in
   * 500 at 29/s).
   */
  private List<TokenBucket> limits(Call call, long now) {
    String channel = call.channel().id();
    boolean telegram = call.channel().type() == HubConfig.ChannelType.TELEGRAM;
    List<TokenBucket> limits = new ArrayList<>();
    limits.add(buckets.computeIfAbsent("chat|" + channel + "|" + call.chat(), k -> new TokenBucket(1, 1, now)));
    if (telegram && call.group()) {
      limits.add(buckets.computeIfAbsent("group|" + channel + "|" + call.chat(), k -> new TokenBucket(1, 19 / 60.0, now)));
    }
    if (telegram) {
      limits.add(buckets.computeIfAbsent("bot|" + channel, k -> new TokenBucket(1, 25, now)));
    }
    return limits;
  }

  /** An answer: the result, or why not and whether (after how long) to try again. */
  private record Answer(JsonObject result, String error, long retryAfterMs) {
  }

  private Future<Answer> post(Call call) {
    boolean telegram = call.channel().type() == HubConfig.ChannelType.TELEGRAM;
    URI base = URI.create(call.channel().apiBase());
    String root = base.getRawPath() == null ? "" : base.getRawPath().replaceAll("/$", "");
    String path = telegram ? root + "/bot" + call.token() + "/" + call.method() : root + "/api/" + call.method();
    int port = base.getPort() > 0 ? base.getPort() : "https".equals(base.getScheme()) ? 443 : 80;
    RequestOptions options = new RequestOptions().setMethod(HttpMethod.POST).setHost(base.getHost()).setPort(port)
      .setSsl("https".equals(base.getScheme())).setURI(path).setTimeout(30_000)
      .putHeader("Content-Type", "application/json; charset=utf-8");
    if (!telegram) {
      options.putHeader("Authorization", "Bearer " + call.token());
    }
    return http.request(options).compose(req -> req.send(call.body().toBuffer()))
      .compose(resp -> resp.body().map(b -> answer(call, resp, b.toString())))
      .recover(err -> Future.succeededFuture(new Answer(null, "the platform could not be reached ("
        + err.getClass().getSimpleName() + ")", 2_000)));
  }

  private Answer answer(Call call, HttpClientResponse resp, String text) {
    JsonObject json;
    try {
      json = new JsonObject(text);
    } catch (RuntimeException e) {
      json = new JsonObject();
    }
    if (resp.statusCode() == 429) {
      long seconds = json.getJsonObject("parameters", new JsonObject()).getLong("retry_after", -1L);
      if (seconds < 0) {
        try {
          seconds = Long.parseLong(String.valueOf(resp.getHeader("Retry-After")).trim());
        } catch (NumberFormatException e) {
          seconds = 1;
        }
      }
      LOG.info("channel " + call.channel().id() + ": " + call.method() + " paced by the platform (429), waits "
        + seconds + " s");
      return new Answer(null, "429", seconds * 1000);
    }
    boolean ok = json.getBoolean("ok", false) && resp.statusCode() / 100 == 2;
    if (ok) {
      return new Answer(json, null, -1);
    }
    String why = "HTTP " + resp.statusCode() + " " + json.getString("description", json.getString("error", ""));
    return new Answer(null, why, resp.statusCode() >= 500 ? 2_000 : -1);
  }
}
