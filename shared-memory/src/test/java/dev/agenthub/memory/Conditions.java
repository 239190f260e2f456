package dev.agenthub.memory;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;

import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/** Waiting without blocking, for tests that drive plain classes on Vert.x contexts. */
final class Conditions {

  private static final long DEADLINE_MS = 30_000;

  private Conditions() {
  }

  /** Completes once {@code condition} holds (checked every 50 ms); fails naming {@code what} after 30 s. */
  static Future<Void> until(Vertx vertx, String what, BooleanSupplier condition) {
    Promise<Void> done = Promise.promise();
    long end = System.currentTimeMillis() + DEADLINE_MS;
    vertx.setPeriodic(0, 50, id -> {
      if (condition.getAsBoolean()) {
        vertx.cancelTimer(id);
        done.tryComplete();
      } else if (System.currentTimeMillis() > end) {
        vertx.cancelTimer(id);
        done.tryFail(new AssertionError("still not " + what + " after " + DEADLINE_MS + " ms"));
      }
    });
    return done.future();
  }

  /** Completes {@code ms} later: time for a few more rounds of whatever runs periodically. */
  static Future<Void> pause(Vertx vertx, long ms) {
    Promise<Void> done = Promise.promise();
    vertx.setTimer(ms, id -> done.complete());
    return done.future();
  }

  /** Runs {@code action} on {@code context}, as the verticle that owns it would. */
  static <T> Future<T> on(Context context, Supplier<Future<T>> action) {
    Promise<T> done = Promise.promise();
    context.runOnContext(v -> action.get().onComplete(done));
    return done.future();
  }
}
