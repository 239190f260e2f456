package dev.agenthub.hub.gateway;

import dev.agenthub.channels.ChannelsVerticle;

import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

import java.util.List;

/**
 * {@code POST /channels/{id}}: a platform's webhook, handed as it came (the headers that matter and
 * the raw body, which its signature covers) to the node's channels verticle, whose answer is the
 * HTTP answer. A platform is not a client: its requests prove themselves by signature or secret
 * token there, so this route passes the loopback rule and the per-address rate.
 */
final class ChannelRoutes {

  static final String PREFIX = "/channels/";
  /** The headers a channel reads; nothing else (cookies, authorization) is passed on. */
  static final List<String> HEADERS = List.of("X-Slack-Signature", "X-Slack-Request-Timestamp", "X-Slack-Retry-Num",
    "X-Slack-Retry-Reason", "X-Telegram-Bot-Api-Secret-Token", "Content-Type");
  private static final long TIMEOUT_MS = 10_000;

  private final GatewayContext gw;

  ChannelRoutes(GatewayContext gw) {
    this.gw = gw;
  }

  void admit(RoutingContext ctx) {
    ctx.next();
  }

  void inbound(RoutingContext ctx) {
    JsonObject headers = new JsonObject();
    for (String h : HEADERS) {
      String v = ctx.request().getHeader(h);
      if (v != null) {
        headers.put(h, v);
      }
    }
    JsonObject in = new JsonObject().put("channel", ctx.pathParam("id")).put("headers", headers)
      .put("body", ctx.body().buffer() == null ? "" : ctx.body().buffer().toString());
    ctx.vertx().eventBus().<JsonObject>request(ChannelsVerticle.INBOUND, in, new DeliveryOptions()
        .setSendTimeout(TIMEOUT_MS).setLocalOnly(true))
      .onSuccess(m -> Replies.json(ctx, m.body().getInteger("status", 500), m.body().getJsonObject("body",
        new JsonObject())))
      .onFailure(err -> Replies.json(ctx, gw.config().channels().isEmpty() ? 404 : 503,
        new JsonObject().put("error", gw.config().channels().isEmpty() ? "no channels" : "try again")));
  }
}
