package dev.agenthub.hub.gateway;

import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

/** How the gateway answers: a JSON body, and the outcome a failed message counts as. */
final class Replies {

  private Replies() {
  }

  static void json(RoutingContext ctx, int status, JsonObject body) {
    ctx.response().setStatusCode(status).putHeader("Content-Type", "application/json").end(body.encode());
  }

  /** The {@code outcome} tag of {@code agenthub_messages_total} for a failed message. */
  static String outcome(Throwable err) {
    if (err instanceof ApiError e) {
      return switch (e.status) {
        case 429 -> "rejected";
        case 504 -> "timeout";
        default -> "error";
      };
    }
    return "error";
  }
}
