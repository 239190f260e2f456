package dev.agenthub.hub.gateway;

import dev.agenthub.protocol.Turn;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

/**
 * An HTTP error of the contract: {@code {"error":{"message","type","param","code"}}} with its status
 * ({@code param} and {@code code} may be null). A budget refusal also says {@code x-should-retry:
 * false}, so OpenAI SDKs do not retry what will be refused again until the budget resets.
 */
final class ApiError extends RuntimeException {

  final int status;
  final String type;
  final Long retryAfterSeconds;
  final String param;
  final String code;

  ApiError(int status, String type, String message) {
    this(status, type, message, null);
  }

  ApiError(int status, String type, String message, Long retryAfterSeconds) {
    this(status, type, message, retryAfterSeconds, null, null);
  }

  ApiError(int status, String type, String message, Long retryAfterSeconds, String param, String code) {
    super(message, null, false, false);
    this.status = status;
    this.type = type;
    this.retryAfterSeconds = retryAfterSeconds;
    this.param = param;
    this.code = code;
  }

  static ApiError badRequest(String message) {
    return new ApiError(400, "invalid_request_error", message);
  }

  /** A 400 that names the request field at fault. */
  static ApiError badParam(String param, String message) {
    return new ApiError(400, "invalid_request_error", message, null, param, null);
  }

  static ApiError unsupported(String param, String message) {
    return new ApiError(400, "invalid_request_error", message, null, param, "unsupported_parameter");
  }

  /** The contract's error object. */
  JsonObject toJson() {
    return body(type, getMessage(), param, code);
  }

  static JsonObject body(String type, String message, String param, String code) {
    return new JsonObject().put("error", new JsonObject().put("message", message).put("type", type)
      .put("param", param).put("code", code));
  }

  /** Sends the error (or resets the response when its head is already out); completes once written. */
  Future<Void> send(RoutingContext ctx) {
    if (ctx.response().headWritten()) {
      return ctx.response().reset();
    }
    var response = ctx.response().setStatusCode(status).putHeader("Content-Type", "application/json");
    if (retryAfterSeconds != null) {
      response.putHeader("Retry-After", String.valueOf(retryAfterSeconds));
    }
    if ("budget_exceeded".equals(type)) {
      response.putHeader("x-should-retry", "false");
    }
    return response.end(toJson().encode());
  }

  static void send(RoutingContext ctx, int status, String type, String message, Long retryAfterSeconds) {
    new ApiError(status, type, message, retryAfterSeconds).send(ctx);
  }

  /**
   * The error a failed turn maps to: its failure code is the HTTP status (but for the two the bus
   * keeps apart, see {@link Turn.Failure}); its message is the contract's error object when the
   * governor or the agent sent one, else plain text.
   */
  static ApiError fromFailure(String agent, int code, String message) {
    String type = null;
    String text = message;
    String param = null;
    Long retryAfter = null;
    if (message != null && message.startsWith("{")) {
      try {
        JsonObject json = new JsonObject(message);
        JsonObject error = json.containsKey("error") ? json.getJsonObject("error") : json;
        type = error.getString("type");
        text = error.getString("message");
        param = error.getString("param");
        retryAfter = error.getValue("retry_after") instanceof Number n ? n.longValue() : null;
      } catch (RuntimeException e) {
        // plain text after all
      }
    }
    String what = text == null ? "the turn failed" : text;
    return switch (code) {
      case Turn.Failure.BAD_REQUEST -> new ApiError(400, "invalid_request_error", what, null, param, null);
      case Turn.Failure.FORBIDDEN -> new ApiError(403, "permission_error", what);
      case Turn.Failure.TOO_LARGE -> new ApiError(413, "request_too_large", what);
      case Turn.Failure.CONFLICT -> new ApiError(409, "conflict", what);
      case Turn.Failure.SESSION_MOVED -> new ApiError(409, "session_moved", what, 1L);
      case Turn.Failure.QUEUE_FULL -> "rate_limit_exceeded".equals(type)
        ? new ApiError(429, "rate_limit_exceeded", what, retryAfter == null ? 1L : retryAfter, null,
          "rate_limit_exceeded")
        : new ApiError(429, "queue_full", "agent '" + agent + "' is busy: " + what, 1L, null, "queue_full");
      case Turn.Failure.BUDGET_EXCEEDED -> new ApiError(429, "budget_exceeded", what,
        retryAfter == null ? 3600L : retryAfter, null, "budget_exceeded");
      case Turn.Failure.CANCELLED -> new ApiError(499, "cancelled", what);
      case Turn.Failure.MODEL_TIMEOUT -> new ApiError(504, "model_timeout", what, null, null, "model_timeout");
      case Turn.Failure.UNAVAILABLE -> new ApiError(503, "unavailable", what, 1L);
      default -> new ApiError(502, "model_error", what, null, param, null);
    };
  }
}
