package dev.agenthub.hub.gateway;

import dev.agenthub.protocol.Failure;
import dev.agenthub.protocol.LogFields;
import dev.agenthub.protocol.Turn;

import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.codec.BodyCodec;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.logging.Logger;

/**
 * {@code POST /v1/agents/{agent}/messages}: a plain answer, a stream of server-sent events, or a
 * batch message answered 202 at once and delivered to the transcript and a callback.
 */
final class MessageRoutes {

  private static final Logger LOG = Logger.getLogger(MessageRoutes.class.getName());
  /** How long a batch message may take: provider batch windows are long. */
  static final long BATCH_TIMEOUT_MS = 3_600_000;
  private static final long CALLBACK_TIMEOUT_MS = 10_000;

  private final GatewayContext gw;
  private final TurnIntake intake;
  private final StreamRelay relay;
  private final WebClient web;

  MessageRoutes(GatewayContext gw, StreamRelay relay, WebClient web) {
    this.gw = gw;
    this.intake = gw.intake();
    this.relay = relay;
    this.web = web;
  }

  /**
   * Before the body is read: the token, the agent and the token's right to it. A refused client never
   * makes the node buffer a body.
   */
  void admit(RoutingContext ctx) {
    intake.admit(ctx.request().getHeader("Authorization"), ctx.pathParam("agent"));
    ctx.next();
  }

  /** After {@link #admit} and the body. */
  void message(RoutingContext ctx) {
    long started = System.nanoTime();
    String agent = ctx.pathParam("agent");
    String authorization = ctx.request().getHeader("Authorization");
    Requests.AgentMessage msg = Requests.AgentMessage.parse(Requests.jsonBody(ctx.body().buffer()));
    LogFields.put(agent, msg.session(), msg.idempotencyKey());
    String callback = msg.callback();
    if (callback != null) {
      checkCallback(callback);
    }
    Turn.Request request = TurnIntake.turn(msg, intake.auth().clientId(authorization));
    if (msg.batch()) {
      batch(ctx, agent, request, callback, started);
      return;
    }
    if (callback != null) {
      throw Failure.of(Failure.Kind.BAD_REQUEST, "'callback_url' is for batch messages");
    }
    if (msg.stream()) {
      stream(ctx, agent, request, started);
      return;
    }
    intake.dispatch(agent, request)
      .onSuccess(reply -> {
        gw.metrics().message(agent, "ok", System.nanoTime() - started);
        Replies.json(ctx, Replies.status(reply), reply);
      })
      .onFailure(err -> {
        gw.metrics().message(agent, Replies.outcome(err), System.nanoTime() - started);
        ctx.fail(err);
      });
  }

  /**
   * A streamed message: server-sent events {@code event: delta} {@code {"text"}} as the answer is
   * generated, then {@code event: done} with the usual response object (or {@code event: error}).
   */
  private void stream(RoutingContext ctx, String agent, Turn.Request request, long started) {
    TurnStream stream = new TurnStream(ctx, relay, new TurnStream.Format() {
      @Override
      public String delta(String text, boolean first) {
        return "event: delta\ndata: " + new JsonObject().put("text", text).encode() + "\n\n";
      }

      @Override
      public String done(Turn.Reply reply, boolean anyDelta) {
        return "event: done\ndata: " + reply.toJson().encode() + "\n\n";
      }

      @Override
      public String error(Failure error) {
        return "event: error\ndata: " + error.toJson().encode() + "\n\n";
      }
    });
    Turn.Request streamed = request.toBuilder().stream(stream.stream()).build().withGatewayKey();
    stream.onClientGone(() -> intake.cancel(streamed));
    stream.follow(intake.dispatch(agent, streamed), gw, agent, started);
  }

  /**
   * A batch message: 202 with its id at once; the turn runs at batch priority (the provider's batch
   * API where it has one), its answer lands in the transcript and, if asked, is POSTed to the callback.
   */
  private void batch(RoutingContext ctx, String agent, Turn.Request request, String callback, long started) {
    String batchId = "batch-" + UUID.randomUUID();
    Replies.json(ctx, 202, new JsonObject().put("batch_id", batchId).put("agent", agent)
      .put("session", request.session()));
    intake.dispatch(agent, request, intake.timeoutMs(request.priority())).onComplete(ar -> {
      gw.metrics().message(agent, ar.succeeded() ? "ok" : Replies.outcome(ar.cause()), System.nanoTime() - started);
      if (callback == null) {
        return;
      }
      JsonObject payload = ar.succeeded() ? ar.result().copy().put("batch_id", batchId)
        : new JsonObject().put("batch_id", batchId).put("error", new JsonObject().put("type", "batch_failed")
          .put("message", ar.cause().getMessage() == null ? "failed" : ar.cause().getMessage()));
      // to a listed host only (checked at submission), no redirects, a bounded wait, the answer unread
      web.postAbs(callback).followRedirects(false).timeout(CALLBACK_TIMEOUT_MS).as(BodyCodec.none())
        .sendJsonObject(payload)
        .onSuccess(r -> {
          if (r.statusCode() / 100 != 2) {
            LOG.warning("batch " + batchId + ": callback answered " + r.statusCode());
          }
        })
        .onFailure(err -> LOG.warning("batch " + batchId + ": callback failed: " + err.getMessage()));
    });
  }

  /**
   * A batch callback goes only to a host listed in {@code batch.callback-hosts} (exact names): never
   * to wherever a client points it, such as this machine, the cluster's ports or a cloud's metadata.
   */
  private void checkCallback(String callback) {
    URI uri;
    try {
      uri = new URI(callback);
    } catch (URISyntaxException e) {
      throw Failure.badParam("callback_url", "'callback_url' is not a URL");
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    if (!scheme.equals("http") && !scheme.equals("https") || uri.getHost() == null || uri.getUserInfo() != null) {
      throw Failure.badParam("callback_url", "'callback_url' must be an http:// or https:// URL with a host");
    }
    List<String> hosts = gw.config().batch().callbackHosts();
    if (hosts.isEmpty()) {
      throw Failure.badParam("callback_url", "callbacks are off on this hub (batch.callback-hosts is empty)");
    }
    if (!hosts.contains(uri.getHost().toLowerCase(Locale.ROOT))) {
      throw Failure.badParam("callback_url", "'" + uri.getHost() + "' is not in batch.callback-hosts");
    }
  }
}
