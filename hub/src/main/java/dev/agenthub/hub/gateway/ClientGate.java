package dev.agenthub.hub.gateway;

import dev.agenthub.hub.telemetry.Tracing;
import dev.agenthub.protocol.Failure;

import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SocketAddress;
import io.vertx.ext.web.RoutingContext;

import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * What every request passes before its route, and the answer to every failure: the trace ids on
 * the response, loopback only for a hub without clients, each client's request rate, and the
 * contract's error object (audited when authentication failed).
 */
final class ClientGate {

  private static final Logger LOG = Logger.getLogger(ClientGate.class.getName());

  private final GatewayContext gw;
  private final ClientAuth auth;

  ClientGate(GatewayContext gw, ClientAuth auth) {
    this.gw = gw;
    this.auth = auth;
  }

  /**
   * With tracing on, every response names its trace: {@code X-Trace-Id}, and W3C's
   * {@code traceresponse} ({@code 00-<trace id>-<span id>-<flags>} of the hub's server span).
   */
  void traceIds(RoutingContext ctx) {
    String traceparent = Tracing.currentTraceparent();
    if (traceparent != null) {
      ctx.response().putHeader("X-Trace-Id", traceparent.substring(3, 35)).putHeader("traceresponse", traceparent);
    }
    ctx.next();
  }

  /** With no API clients configured the hub is open, so it only answers requests from this machine. */
  void loopbackUnlessClients(RoutingContext ctx) {
    // a platform's webhook proves itself by its signature or secret token (ChannelRoutes)
    if (auth.open() && !ctx.normalizedPath().startsWith("/health/") && !ctx.normalizedPath().startsWith(
      ChannelRoutes.PREFIX)) {
      String host = host(ctx.request().remoteAddress());
      if (host != null && !(host.startsWith("127.") || host.equals("0:0:0:0:0:0:0:1") || host.equals("::1"))) {
        gw.metrics().refused("auth");
        throw new Failure(Failure.Kind.UNAUTHORIZED,
          "this hub has no API clients configured and only answers requests from its own machine");
      }
    }
    ctx.next();
  }

  /** Each client (authenticated by its token, else its address) gets {@code node.http.client-rps}. */
  void rateLimit(RoutingContext ctx) {
    if (gw.config().node().http().clientRps() <= 0 || ctx.normalizedPath().startsWith("/health/")
      || ctx.normalizedPath().startsWith(ChannelRoutes.PREFIX)) {
      ctx.next();
      return;
    }
    String host = host(ctx.request().remoteAddress());
    gw.intake().checkRate(auth.clientId(ctx.request().getHeader("Authorization")), host);
    ctx.next();
  }

  /** The contract's error object for every failure; refused authentication is counted and audited. */
  void failure(RoutingContext ctx) {
    Throwable failure = ctx.failure();
    if (failure instanceof Failure e) {
      if (e.kind() == Failure.Kind.UNAUTHORIZED || e.kind() == Failure.Kind.FORBIDDEN) {
        gw.metrics().refused("auth");
        gw.metrics().audit("auth_failed", new JsonObject().put("status", e.kind().status())
          .put("method", ctx.request().method().name()).put("path", ctx.normalizedPath())
          .put("remote", host(ctx.request().remoteAddress())).put("reason", e.getMessage()));
      }
      HttpFailures.send(ctx, e);
      return;
    }
    int status = ctx.statusCode();
    switch (status) {
      case 413 -> {
        gw.metrics().refused("too_large");
        HttpFailures.send(ctx, Failure.Kind.TOO_LARGE, "request body is larger than "
          + gw.config().node().http().maxBodyBytes() + " bytes", null);
      }
      case 400 -> HttpFailures.send(ctx, Failure.Kind.BAD_REQUEST, "bad request", null);
      case 404 -> HttpFailures.send(ctx, Failure.Kind.NOT_FOUND, "not found", null);
      case 405 -> HttpFailures.send(ctx, Failure.Kind.METHOD_NOT_ALLOWED, "method not allowed", null);
      default -> {
        if (failure != null) {
          LOG.log(Level.WARNING, "request failed: " + ctx.request().method() + " " + ctx.normalizedPath(), failure);
        }
        HttpFailures.send(ctx, status > 400 && status < 600 ? Failure.Kind.ofStatus(status) : Failure.Kind.INTERNAL,
          "internal error", null);
      }
    }
  }

  private static String host(SocketAddress remote) {
    return remote == null ? null : remote.hostAddress();
  }
}
