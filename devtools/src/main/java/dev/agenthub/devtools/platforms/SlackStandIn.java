package dev.agenthub.devtools.platforms;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Slack's Web API ({@code POST /api/<method>}) as strict as Slack where the hub meets it: the bot token
 * as {@code Authorization: Bearer}, else {@code {"ok":false,"error":"invalid_auth"}} (Slack answers
 * 200); {@code chat.postMessage} needs a channel and a text of at most 40,000 characters
 * ({@code msg_too_long}) and answers HTTP 429 with {@code Retry-After} when a channel gets more than
 * about one message a second; {@code auth.test} names the bot. It also signs events as Slack does
 * ({@link #sign}, from Slack's documentation: {@code v0=} hex HMAC-SHA256 of
 * {@code v0:<timestamp>:<body>}), written here apart from the hub's own check.
 */
public final class SlackStandIn {

  public static final String BOT_USER = "UBOTSTANDIN";

  private final Vertx vertx;
  private final String token;
  private final List<JsonObject> posted = new ArrayList<>();
  private final Map<String, Long> lastByChannel = new HashMap<>();
  private int tooMany;
  private HttpServer server;

  public SlackStandIn(Vertx vertx, String token) {
    this.vertx = vertx;
    this.token = token;
  }

  public Future<String> start() {
    Router router = Router.router(vertx);
    router.route().handler(BodyHandler.create().setBodyLimit(1024 * 1024));
    router.post("/api/:method").handler(this::call);
    return vertx.createHttpServer().requestHandler(router).listen(0, "127.0.0.1").map(s -> {
      server = s;
      return "http://127.0.0.1:" + s.actualPort();
    });
  }

  public Future<Void> close() {
    return server == null ? Future.succeededFuture() : server.close();
  }

  /** The signature headers Slack would send with {@code body} at {@code timestamp} (seconds). */
  public static Map<String, String> sign(String signingSecret, String body, long timestamp) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(signingSecret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
      String base = "v0:" + timestamp + ":" + body;
      String signature = "v0=" + HexFormat.of().formatHex(mac.doFinal(base.getBytes(StandardCharsets.UTF_8)));
      return Map.of("X-Slack-Signature", signature, "X-Slack-Request-Timestamp", Long.toString(timestamp));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private void call(RoutingContext ctx) {
    String auth = ctx.request().getHeader("Authorization");
    if (auth == null || !auth.equals("Bearer " + token)) {
      ok(ctx, new JsonObject().put("ok", false).put("error", auth == null ? "not_authed" : "invalid_auth"));
      return;
    }
    JsonObject body;
    try {
      body = ctx.body().asJsonObject();
    } catch (RuntimeException e) {
      ok(ctx, new JsonObject().put("ok", false).put("error", "invalid_json"));
      return;
    }
    body = body == null ? new JsonObject() : body;
    switch (ctx.pathParam("method")) {
      case "auth.test" -> ok(ctx, new JsonObject().put("ok", true).put("user_id", BOT_USER).put("bot_id", "BSTANDIN")
        .put("team", "standin"));
      case "chat.postMessage" -> post(ctx, body);
      default -> ok(ctx, new JsonObject().put("ok", false).put("error", "unknown_method"));
    }
  }

  private synchronized void post(RoutingContext ctx, JsonObject body) {
    String channel = body.getString("channel");
    String text = body.getString("text");
    if (channel == null || channel.isEmpty()) {
      ok(ctx, new JsonObject().put("ok", false).put("error", "channel_not_found"));
      return;
    }
    if (text == null || text.isEmpty()) {
      ok(ctx, new JsonObject().put("ok", false).put("error", "no_text"));
      return;
    }
    if (text.length() > 40_000) {
      ok(ctx, new JsonObject().put("ok", false).put("error", "msg_too_long"));
      return;
    }
    long now = System.currentTimeMillis();
    Long last = lastByChannel.get(channel);
    if (last != null && now - last < 900) {
      tooMany++;
      ctx.response().setStatusCode(429).putHeader("Retry-After", "1").putHeader("Content-Type", "application/json")
        .end(new JsonObject().put("ok", false).put("error", "ratelimited").encode());
      return;
    }
    lastByChannel.put(channel, now);
    posted.add(body);
    ok(ctx, new JsonObject().put("ok", true).put("channel", channel).put("ts", now / 1000 + "." + posted.size()));
  }

  public synchronized List<JsonObject> posted() {
    return List.copyOf(posted);
  }

  public synchronized int tooMany() {
    return tooMany;
  }

  private static void ok(RoutingContext ctx, JsonObject body) {
    ctx.response().putHeader("Content-Type", "application/json").end(body.encode());
  }
}
