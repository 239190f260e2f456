package dev.agenthub.governor;

import io.vertx.core.Future;

/** One key's RPM and TPM buckets, wherever they live (this node, or the cluster). */
interface Limiter {

  /**
   * Takes one request and {@code tokens} if both buckets admit them: 0 when taken, otherwise the
   * nanoseconds until they might.
   */
  Future<Long> take(long tokens);

  /** Gives back unused reserved tokens (positive) or charges extra usage (negative). */
  void settle(long tokens);

  /** The share of the request bucket that is free, 0..1 (as last seen). */
  double headroom();
}
