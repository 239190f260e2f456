package dev.agenthub.governor;


import io.vertx.core.Future;

/** A key's buckets in this node's memory: exact for a node that runs alone. */
final class LocalLimiter implements Limiter {

  private final TokenBucket requests;
  private final TokenBucket tokens;

  LocalLimiter(double[] limits) {
    long now = System.nanoTime();
    this.requests = new TokenBucket(limits[2], limits[0], now);
    this.tokens = new TokenBucket(limits[3], limits[1], now);
  }

  @Override
  public Future<Long> take(long n) {
    long now = System.nanoTime();
    long wait = Math.max(requests.nanosUntil(1, now), tokens.nanosUntil(n, now));
    if (wait == 0) {
      requests.tryTake(1, now);
      tokens.tryTake(n, now);
    }
    return Future.succeededFuture(wait);
  }

  @Override
  public void settle(long n) {
    if (n > 0) {
      tokens.refund(n, System.nanoTime());
    } else if (n < 0) {
      tokens.charge(-n, System.nanoTime());
    }
  }

  @Override
  public double headroom() {
    return Math.max(0, requests.available(System.nanoTime()) / requests.capacity());
  }
}
