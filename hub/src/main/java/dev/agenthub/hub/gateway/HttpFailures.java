package dev.agenthub.hub.gateway;

import dev.agenthub.protocol.Failure;

import io.vertx.core.Future;
import io.vertx.ext.web.RoutingContext;

/**
 * The HTTP edge of {@link Failure}: the contract's error object {@code {"error":{"message","type",
 * "param","code"}}} with its kind's status, {@code Retry-After} when a retry may help, and for a
 * budget {@code x-should-retry: false}, so OpenAI SDKs do not retry what will be refused again
 * until the budget resets. Never a stack trace: what is not a failure is answered 500 without its text.
 */
final class HttpFailures {

  private HttpFailures() {
  }

  /** The failure an error at the HTTP edge stands for (anything else is an internal error). */
  static Failure of(Throwable err) {
    return Failure.from(err, Failure.Kind.INTERNAL, "internal error");
  }

  /** Sends the failure (or resets the response when its head is already out); completes once written. */
  static Future<Void> send(RoutingContext ctx, Failure failure) {
    if (ctx.response().headWritten()) {
      return ctx.response().reset();
    }
    var response = ctx.response().setStatusCode(failure.kind().status()).putHeader("Content-Type", "application/json");
    Long retryAfter = failure.retryAfterSeconds();
    if (retryAfter != null) {
      response.putHeader("Retry-After", String.valueOf(retryAfter));
    }
    if (failure.kind() == Failure.Kind.BUDGET_EXCEEDED) {
      response.putHeader("x-should-retry", "false");
    }
    return response.end(failure.toJson().encode());
  }

  static void send(RoutingContext ctx, Failure.Kind kind, String message, Long retryAfterSeconds) {
    send(ctx, new Failure(kind, message, retryAfterSeconds));
  }
}
