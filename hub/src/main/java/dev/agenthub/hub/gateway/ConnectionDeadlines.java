package dev.agenthub.hub.gateway;

import dev.agenthub.protocol.Failure;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.ext.web.RoutingContext;

import java.util.HashMap;
import java.util.Map;

/**
 * The deadlines Vert.x's HTTP server does not keep by itself (its idle timeout closes a connection
 * that sends nothing, not one that sends a byte now and then): a new connection must complete its
 * first request head within {@code node.http.header-timeout}, and once every request on it is
 * answered, its next head within {@code idle-timeout}, or it is closed; a request's body must arrive
 * whole within {@code body-timeout} of its head, or it is answered 408 and its connection closed.
 * One per gateway instance, touched only on its context (the server gives each connection to one
 * instance, which sees its requests too).
 */
final class ConnectionDeadlines {

  private final Vertx vertx;
  private final GatewayContext gw;
  private final long headerMs;
  private final long nextHeadMs;
  private final long bodyMs;
  private final Map<HttpConnection, Open> open = new HashMap<>();

  /** A connection's requests in flight and the timer waiting for its next head. */
  private static final class Open {
    int inFlight;
    long timer = -1;
  }

  ConnectionDeadlines(Vertx vertx, GatewayContext gw) {
    this.vertx = vertx;
    this.gw = gw;
    this.headerMs = gw.config().node().http().headerTimeoutMs();
    this.nextHeadMs = gw.config().node().http().idleTimeoutMs();
    this.bodyMs = gw.config().node().http().bodyTimeoutMs();
  }

  /** The server's connection handler: the first head is due within the header timeout. */
  void connected(HttpConnection connection) {
    if (headerMs <= 0) {
      return;
    }
    Open o = new Open();
    open.put(connection, o);
    connection.closeHandler(v -> {
      Open gone = open.remove(connection);
      if (gone != null) {
        vertx.cancelTimer(gone.timer);
      }
    });
    awaitHead(connection, o, headerMs);
  }

  private void awaitHead(HttpConnection connection, Open o, long ms) {
    if (ms <= 0) {
      return;
    }
    o.timer = vertx.setTimer(ms, id -> {
      if (o.inFlight == 0) {
        gw.metrics().refused("slow_client");
        connection.close();
      }
    });
  }

  /** The first handler of every request: its head is complete. */
  void headArrived(RoutingContext ctx) {
    HttpConnection connection = ctx.request().connection();
    Open o = open.get(connection);
    if (o != null) {
      o.inFlight++;
      vertx.cancelTimer(o.timer);
      ctx.addEndHandler(ar -> {
        if (--o.inFlight == 0 && open.containsKey(connection)) {
          awaitHead(connection, o, nextHeadMs);
        }
      });
    }
    ctx.next();
  }

  /**
   * Before a body handler: the body is due within the body timeout. One that is late is answered 408
   * and no longer read; an HTTP/1 connection is then closed, since the rest of that body would be
   * read as the next request.
   */
  void bodyDue(RoutingContext ctx) {
    HttpServerRequest request = ctx.request();
    if (bodyMs > 0 && !request.isEnded()) {
      long timer = vertx.setTimer(bodyMs, id -> {
        if (request.isEnded() || ctx.response().ended()) {
          return;
        }
        gw.metrics().refused("slow_client");
        request.handler(null).endHandler(null);
        HttpFailures.send(ctx, new Failure(Failure.Kind.REQUEST_TIMEOUT, "the request body did not arrive within "
          + bodyMs + " ms")).onComplete(ar -> {
            if (request.version() != HttpVersion.HTTP_2) {
              request.connection().close();
            }
          });
      });
      ctx.addEndHandler(ar -> vertx.cancelTimer(timer));
    }
    ctx.next();
  }
}
