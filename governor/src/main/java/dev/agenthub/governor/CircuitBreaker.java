package dev.agenthub.governor;

import dev.agenthub.config.HubConfig;

/**
 * Stops calling a provider that is down: after {@code failures} failures in a row (network errors,
 * timeouts, 5xx; a 429 or another 4xx means the provider is up) it opens for {@code open}, and calls
 * go straight to their fallbacks; then one call probes the provider (half-open): a success closes the
 * circuit, a failure opens it again. Lives on the governor's context; times in nanoseconds.
 */
final class CircuitBreaker {

  enum State {
    CLOSED, OPEN, HALF_OPEN
  }

  private final int threshold;
  private final long openNanos;
  private State state = State.CLOSED;
  private int failures;
  private long openUntil;
  private boolean probing;

  CircuitBreaker(HubConfig.Circuit config) {
    this.threshold = config.failures();
    this.openNanos = config.openMs() * 1_000_000;
  }

  /** Whether a call may go now; in half-open, only the one probe. */
  boolean allow(long now) {
    switch (state) {
      case CLOSED:
        return true;
      case OPEN:
        if (now < openUntil) {
          return false;
        }
        state = State.HALF_OPEN;
        probing = false;
        // fall through: the first call after the open period is the probe
      default:
        if (probing) {
          return false;
        }
        probing = true;
        return true;
    }
  }

  void success() {
    state = State.CLOSED;
    failures = 0;
    probing = false;
  }

  void failure(long now) {
    failures++;
    if (threshold <= 0) {
      return;
    }
    if (state == State.HALF_OPEN || failures >= threshold) {
      state = State.OPEN;
      openUntil = now + openNanos;
      probing = false;
    }
  }

  /** The state as of {@code now} (an open circuit past its time reads half-open). */
  State state(long now) {
    return state == State.OPEN && now >= openUntil ? State.HALF_OPEN : state;
  }

  /** Nanoseconds until an open circuit lets a probe through (0 when it would now). */
  long nanosUntilProbe(long now) {
    return state == State.OPEN ? Math.max(0, openUntil - now) : 0;
  }
}
