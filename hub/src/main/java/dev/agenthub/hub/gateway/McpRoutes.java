package dev.agenthub.hub.gateway;

import dev.agenthub.mcp.door.McpDoor;
import dev.agenthub.protocol.Failure;
import dev.agenthub.protocol.LogFields;
import dev.agenthub.protocol.ModelCall;
import dev.agenthub.protocol.Turn;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

import java.util.List;
import java.util.Map;
import java.util.function.IntConsumer;

/**
 * {@code /mcp}: the MCP door ({@link McpDoor}, "Contract: MCP door") on this gateway, and what it
 * needs of the node, a thin layer over the node's one {@link TurnIntake}: the agents a token may
 * use, and turns (admitted, dispatched, cancelled as the other doors' are), with their progress from
 * this gateway's {@link StreamRelay}. Lives on the gateway's context.
 */
final class McpRoutes implements McpDoor.Intake {

  private final GatewayContext gw;
  private final TurnIntake intake;
  private final StreamRelay relay;
  private final McpDoor door;

  McpRoutes(GatewayContext gw, StreamRelay relay) {
    this.gw = gw;
    this.intake = gw.intake();
    this.relay = relay;
    this.door = new McpDoor(this, gw.mcpSessions());
  }

  /**
   * Before the body is read: a page from another machine is refused (403, MCP's rule against DNS
   * rebinding), then a token that talks to agents is required (401, 403).
   */
  void admit(RoutingContext ctx) {
    McpDoor.checkOrigin(ctx.request().getHeader("Origin"));
    intake.auth().checkTalksToAgents(ctx.request().getHeader("Authorization"));
    ctx.next();
  }

  /** After {@link #admit} and the body. */
  void post(RoutingContext ctx) {
    door.post(new HttpExchange(ctx));
  }

  /** After {@link #admit}: the client ends its session. */
  void delete(RoutingContext ctx) {
    door.delete(new HttpExchange(ctx));
  }

  /** No stream the server opens on its own: 405, which MCP clients read as that. */
  void get(RoutingContext ctx) {
    ctx.response().putHeader("Allow", "POST, DELETE");
    HttpFailures.send(ctx, Failure.Kind.METHOD_NOT_ALLOWED, "GET /mcp: this server opens no stream of its own; "
      + "POST JSON-RPC messages", null);
  }

  @Override
  public List<McpDoor.Agent> agents(String authorization) {
    return gw.config().agents().stream().filter(a -> intake.auth().mayUse(authorization, a.id()))
      .map(a -> new McpDoor.Agent(a.id(), a.description())).toList();
  }

  @Override
  public Future<JsonObject> ask(McpDoor.Question q, IntConsumer progress, Future<Void> cancelled) {
    long started = System.nanoTime();
    String client;
    try {
      client = intake.admit(q.authorization(), q.agent());
    } catch (Failure e) {
      if (e.kind() == Failure.Kind.FORBIDDEN) {
        // audited as on the other doors: who was refused which agent
        gw.metrics().refused("auth");
        gw.metrics().audit("auth_failed", new JsonObject().put("status", e.kind().status()).put("door", "mcp")
          .put("agent", q.agent()).put("reason", e.getMessage()));
      }
      throw e;
    }
    Requests.session(q.session(), "session");
    Requests.refuseNul(q.text(), "text");
    LogFields.put(q.agent(), q.session(), q.idempotencyKey());
    ModelCall.Stream stream = progress == null ? null : relay.open(new Progress(progress));
    Turn.Request request = Turn.Request.of(q.session(), q.text()).idempotencyKey(q.idempotencyKey()).client(client)
      .stream(stream).build();
    cancelled.onSuccess(v -> intake.cancel(request));
    return intake.dispatch(q.agent(), request).onComplete(ar -> {
      if (stream != null) {
        relay.close(stream);
      }
      gw.metrics().message(q.agent(), ar.succeeded() ? "ok" : Replies.outcome(ar.cause()), System.nanoTime() - started);
    });
  }

  /** Counts the reply's characters as its pieces come, each piece once. */
  private static final class Progress implements StreamRelay.Sink {
    private final IntConsumer progress;
    private int sent;

    Progress(IntConsumer progress) {
      this.progress = progress;
    }

    @Override
    public void piece(int offset, String text) {
      String unsent = StreamRelay.unsent(sent, offset, text);
      if (unsent != null && !unsent.isEmpty()) {
        sent += unsent.length();
        progress.accept(sent);
      }
    }
  }

  /** One request on {@code /mcp} as the door sees it; nothing is written to a client gone. */
  private record HttpExchange(RoutingContext ctx) implements McpDoor.Exchange {

    @Override
    public String header(String name) {
      return ctx.request().getHeader(name);
    }

    @Override
    public Buffer body() {
      Buffer body = ctx.body() == null ? null : ctx.body().buffer();
      return body == null ? Buffer.buffer() : body;
    }

    @Override
    public void answer(int status, Map<String, String> headers, String json) {
      HttpServerResponse r = ctx.response();
      if (r.closed() || r.ended()) {
        return;
      }
      r.setStatusCode(status);
      headers.forEach(r::putHeader);
      if (json == null) {
        r.end();
      } else {
        r.putHeader("Content-Type", "application/json").end(json);
      }
    }

    @Override
    public void startEvents() {
      HttpServerResponse r = ctx.response();
      if (!r.closed() && !r.ended()) {
        r.setStatusCode(200).setChunked(true).putHeader("Content-Type", "text/event-stream; charset=utf-8")
          .putHeader("Cache-Control", "no-cache").putHeader("X-Accel-Buffering", "no");
      }
    }

    @Override
    public void write(String events) {
      HttpServerResponse r = ctx.response();
      if (!r.closed() && !r.ended()) {
        r.write(events);
      }
    }

    @Override
    public void end() {
      HttpServerResponse r = ctx.response();
      if (!r.closed() && !r.ended()) {
        r.end();
      }
    }
  }
}
