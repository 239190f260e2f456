package dev.agenthub.hub.gateway;

import dev.agenthub.protocol.Failure;

import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

/** How the gateway answers: a JSON body, and the outcome a failed message counts as. */
final class Replies {

  private Replies() {
  }

  /** A turn's reply status: 202 while it waits for a person's approval, else 200. */
  static int status(JsonObject reply) {
    return reply.containsKey("approval") ? 202 : 200;
  }

  static void json(RoutingContext ctx, int status, JsonObject body) {
    ctx.response().setStatusCode(status).putHeader("Content-Type", "application/json").end(body.encode());
  }

  /** The {@code outcome} tag of {@code agenthub_messages_total} for a failed message. */
  static String outcome(Throwable err) {
    if (err instanceof Failure e) {
      return switch (e.kind()) {
        case QUEUE_FULL, RATE_LIMITED, BUDGET_EXCEEDED -> "rejected";
        case TIMEOUT -> "timeout";
        default -> "error";
      };
    }
    return "error";
  }
}
