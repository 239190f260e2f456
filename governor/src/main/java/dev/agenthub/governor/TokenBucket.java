package dev.agenthub.governor;

/**
 * The rate limit of "Contract: what a key's limits mean": capacity {@code c} refilled at {@code r}
 * per second. A request of {@code n} is admitted when the bucket holds {@code min(n, c)}, then takes
 * {@code n} (a request larger than the bucket leaves it in debt, so the long-run rate still holds).
 * The governor and the mock LLM apply exactly this rule. Thread-safe.
 */
public final class TokenBucket {

  private final double capacity;
  private final double perNano;
  private double tokens;
  private long last;

  /** A full bucket of {@code capacity} refilled at {@code perSecond}. */
  public TokenBucket(double capacity, double perSecond, long nowNanos) {
    this(capacity, perSecond, capacity, nowNanos);
  }

  public TokenBucket(double capacity, double perSecond, double initial, long nowNanos) {
    this.capacity = capacity;
    this.perNano = perSecond / 1e9;
    this.tokens = initial;
    this.last = nowNanos;
  }

  private void refill(long now) {
    if (now > last) {
      tokens = Math.min(capacity, tokens + (now - last) * perNano);
      last = now;
    }
  }

  public synchronized boolean tryTake(double n, long now) {
    refill(now);
    if (tokens + 1e-9 >= Math.min(n, capacity)) {
      tokens -= n;
      return true;
    }
    return false;
  }

  /** Nanoseconds until {@code n} could be admitted (0 if now). */
  public synchronized long nanosUntil(double n, long now) {
    refill(now);
    double missing = Math.min(n, capacity) - tokens;
    return missing <= 0 ? 0 : (long) Math.ceil(missing / perNano);
  }

  /** Gives back what a reservation did not use. */
  public synchronized void refund(double n, long now) {
    refill(now);
    tokens = Math.min(capacity, tokens + n);
  }

  /** Takes tokens without asking (usage learned after the fact). */
  public synchronized void charge(double n, long now) {
    refill(now);
    tokens -= n;
  }

  public synchronized double available(long now) {
    refill(now);
    return tokens;
  }

  public double capacity() {
    return capacity;
  }
}
