package dev.agenthub.hub.gateway;

import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

/** An HTTP error of the contract: {@code {"error":{"type","message"}}} with its status. */
final class ApiError extends RuntimeException {

  final int status;
  final String type;
  final Long retryAfterSeconds;

  ApiError(int status, String type, String message) {
    this(status, type, message, null);
  }

  ApiError(int status, String type, String message, Long retryAfterSeconds) {
    super(message, null, false, false);
    this.status = status;
    this.type = type;
    this.retryAfterSeconds = retryAfterSeconds;
  }

  static ApiError badRequest(String message) {
    return new ApiError(400, "invalid_request_error", message);
  }

  void send(RoutingContext ctx) {
    send(ctx, status, type, getMessage(), retryAfterSeconds);
  }

  static void send(RoutingContext ctx, int status, String type, String message, Long retryAfterSeconds) {
    if (ctx.response().headWritten()) {
      ctx.response().reset();
      return;
    }
    var response = ctx.response().setStatusCode(status).putHeader("Content-Type", "application/json");
    if (retryAfterSeconds != null) {
      response.putHeader("Retry-After", String.valueOf(retryAfterSeconds));
    }
    response.end(new JsonObject().put("error", new JsonObject().put("type", type).put("message", message)).encode());
  }
}
