package dev.agenthub.devtools.platforms;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Telegram's Bot API ({@code POST /bot<token>/<method>}, JSON bodies) as strict as Telegram where the
 * hub meets it: a wrong token is 401; {@code setWebhook} takes only an HTTPS URL and a
 * {@code secret_token} of 1-256 of {@code A-Z a-z 0-9 _ -}; {@code sendMessage} refuses an empty text or
 * one above 4,096 characters and answers 429 with {@code parameters.retry_after} when a chat gets more
 * than one message a second, a group more than 20 a minute or the bot more than 30 a second;
 * {@code sendChatAction} takes Telegram's actions only; {@code getUpdates} long-polls as Telegram does
 * (409 while a webhook is set or when a second poller cuts the first short). Records every accepted call.
 */
public final class TelegramStandIn {

  private static final Pattern SECRET = Pattern.compile("[A-Za-z0-9_-]{1,256}");
  private static final Set<String> ACTIONS = Set.of("typing", "upload_photo", "record_video", "upload_video",
    "record_voice", "upload_voice", "upload_document", "choose_sticker", "find_location", "record_video_note",
    "upload_video_note");

  private final Vertx vertx;
  private final String token;
  private final List<JsonObject> sent = new ArrayList<>();
  private final List<JsonObject> webhooks = new ArrayList<>();
  private final List<JsonObject> actions = new ArrayList<>();
  private final Map<String, List<Long>> byChat = new HashMap<>();
  private final List<Long> byBot = new ArrayList<>();
  private int tooMany;
  private int conflicts;
  private boolean webhookSet;
  private RoutingContext polling;
  private final List<JsonObject> updates = new ArrayList<>();
  private HttpServer server;

  public TelegramStandIn(Vertx vertx, String token) {
    this.vertx = vertx;
    this.token = token;
  }

  /** Listens on 127.0.0.1 at a free port; answers the base URL ({@code api-base}). */
  public Future<String> start() {
    Router router = Router.router(vertx);
    router.route().handler(BodyHandler.create().setBodyLimit(1024 * 1024));
    router.post("/:bot/:method").handler(this::call);
    return vertx.createHttpServer().requestHandler(router).listen(0, "127.0.0.1").map(s -> {
      server = s;
      return "http://127.0.0.1:" + s.actualPort();
    });
  }

  public Future<Void> close() {
    return server == null ? Future.succeededFuture() : server.close();
  }

  private void call(RoutingContext ctx) {
    if (!ctx.pathParam("bot").equals("bot" + token)) {
      error(ctx, 401, "Unauthorized");
      return;
    }
    JsonObject body;
    try {
      body = ctx.body().asJsonObject();
    } catch (RuntimeException e) {
      error(ctx, 400, "Bad Request: can't parse JSON");
      return;
    }
    if (body == null) {
      body = new JsonObject();
    }
    switch (ctx.pathParam("method")) {
      case "getMe" -> ok(ctx, new JsonObject().put("id", 4242).put("is_bot", true).put("username", "standin_bot"));
      case "setWebhook" -> setWebhook(ctx, body);
      case "sendChatAction" -> {
        if (body.getValue("chat_id") == null || !ACTIONS.contains(body.getString("action", ""))) {
          error(ctx, 400, "Bad Request: wrong parameter action in request");
          return;
        }
        synchronized (this) {
          actions.add(body);
        }
        ok(ctx, true);
      }
      case "sendMessage" -> sendMessage(ctx, body);
      case "deleteWebhook" -> {
        synchronized (this) {
          webhookSet = false;
        }
        ok(ctx, true);
      }
      case "getUpdates" -> getUpdates(ctx, body);
      default -> error(ctx, 404, "Not Found");
    }
  }

  private void setWebhook(RoutingContext ctx, JsonObject body) {
    String url = body.getString("url", "");
    if (!url.startsWith("https://")) {
      error(ctx, 400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook");
      return;
    }
    String secret = body.getString("secret_token");
    if (secret != null && !SECRET.matcher(secret).matches()) {
      error(ctx, 400, "Bad Request: secret token contains unallowed characters");
      return;
    }
    synchronized (this) {
      webhooks.add(body);
      webhookSet = true;
    }
    ok(ctx, true);
  }

  /** An update for the bot: {@code getUpdates} hands it out until an offset above its id confirms it. */
  public synchronized void push(JsonObject update) {
    updates.add(update);
  }

  /**
   * Long polling as Telegram does it: 409 while a webhook is set; a second {@code getUpdates} ends the
   * one in flight with 409 ("terminated by other getUpdates request"); an offset confirms every update
   * below it; the answer comes as soon as there is an update, or after {@code timeout} seconds.
   */
  private void getUpdates(RoutingContext ctx, JsonObject body) {
    long offset = body.getLong("offset", 0L);
    int timeout = Math.min(50, body.getInteger("timeout", 0));
    RoutingContext previous;
    synchronized (this) {
      if (webhookSet) {
        error(ctx, 409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete "
          + "the webhook first");
        return;
      }
      previous = polling;
      polling = ctx;
      if (offset > 0) {
        updates.removeIf(u -> u.getLong("update_id") < offset);
      }
    }
    if (previous != null && !previous.response().ended()) {
      synchronized (this) {
        conflicts++;
      }
      error(previous, 409, "Conflict: terminated by other getUpdates request; make sure that only one bot instance "
        + "is running");
    }
    long until = System.currentTimeMillis() + timeout * 1000L;
    answerWhenReady(ctx, offset, until);
  }

  private void answerWhenReady(RoutingContext ctx, long offset, long until) {
    JsonArray ready = new JsonArray();
    synchronized (this) {
      if (ctx.response().ended() || polling != ctx) {
        return;
      }
      updates.stream().filter(u -> u.getLong("update_id") >= offset).limit(100).forEach(ready::add);
      if (!ready.isEmpty() || System.currentTimeMillis() >= until) {
        polling = null;
      }
    }
    if (!ready.isEmpty() || System.currentTimeMillis() >= until) {
      ok(ctx, ready);
      return;
    }
    vertx.setTimer(50, t -> answerWhenReady(ctx, offset, until));
  }

  /** How many {@code getUpdates} were cut short by another (two pollers at once). */
  public synchronized int conflicts() {
    return conflicts;
  }

  private synchronized void sendMessage(RoutingContext ctx, JsonObject body) {
    Object chat = body.getValue("chat_id");
    String text = body.getString("text");
    if (chat == null) {
      error(ctx, 400, "Bad Request: chat_id is empty");
      return;
    }
    if (text == null || text.isEmpty()) {
      error(ctx, 400, "Bad Request: message text is empty");
      return;
    }
    if (text.codePointCount(0, text.length()) > 4096) {
      error(ctx, 400, "Bad Request: message is too long");
      return;
    }
    long now = System.currentTimeMillis();
    List<Long> times = byChat.computeIfAbsent(String.valueOf(chat), k -> new ArrayList<>());
    times.removeIf(t -> t < now - 60_000);
    byBot.removeIf(t -> t < now - 1_000);
    boolean group = String.valueOf(chat).startsWith("-");
    long lastSecond = times.stream().filter(t -> t > now - 1_000).count();
    if (lastSecond >= 1 && !times.isEmpty() && now - times.get(times.size() - 1) < 900 || group && times.size() >= 20
      || byBot.size() >= 30) {
      tooMany++;
      ctx.response().setStatusCode(429).putHeader("Content-Type", "application/json").end(new JsonObject()
        .put("ok", false).put("error_code", 429).put("description", "Too Many Requests: retry after 1")
        .put("parameters", new JsonObject().put("retry_after", 1)).encode());
      return;
    }
    times.add(now);
    byBot.add(now);
    sent.add(body);
    ok(ctx, new JsonObject().put("message_id", sent.size()).put("chat", new JsonObject().put("id", chat))
      .put("text", text));
  }

  /** The accepted {@code sendMessage} bodies, in order. */
  public synchronized List<JsonObject> sent() {
    return List.copyOf(sent);
  }

  public synchronized List<JsonObject> webhooks() {
    return List.copyOf(webhooks);
  }

  public synchronized List<JsonObject> actions() {
    return List.copyOf(actions);
  }

  /** How many calls it answered 429. */
  public synchronized int tooMany() {
    return tooMany;
  }

  private static void ok(RoutingContext ctx, Object result) {
    ctx.response().putHeader("Content-Type", "application/json")
      .end(new JsonObject().put("ok", true).put("result", result).encode());
  }

  private static void error(RoutingContext ctx, int code, String description) {
    ctx.response().setStatusCode(code).putHeader("Content-Type", "application/json")
      .end(new JsonObject().put("ok", false).put("error_code", code).put("description", description).encode());
  }
}
