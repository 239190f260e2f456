package dev.agenthub.governor;

import dev.agenthub.config.HubConfig;

import io.vertx.core.Future;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.logging.Logger;

/**
 * The API keys of one provider, each with its RPM/TPM {@link Limiter} (a safety margin below the
 * nominal limits, so network jitter cannot push a key over), a cooldown (after a 429, 529 or 5xx,
 * honouring {@code Retry-After}) and a disabled flag (after a 401/403). Secrets stay in here: only
 * key ids leave it. Lives on the governor's context.
 */
final class KeyPool {

  /** Fraction of a key's nominal rate the governor plans with. */
  static final double MARGIN = 0.95;
  /**
   * Burst the governor allows, in seconds of the key's rate: half the provider's one second, so
   * calls delayed on their way (a busy event loop, a GC pause) and arriving bunched up at the
   * provider still fit its bucket (up to about half a second of delay).
   */
  static final double BURST_SECONDS = 0.5;
  private static final Logger LOG = Logger.getLogger(KeyPool.class.getName());

  static final class KeyState {
    final String id;
    final String secret;
    final int rpm;
    final int tpm;
    final Limiter limiter;
    long coolUntil;
    boolean disabled;
    /** Outage-like failures (network, 5xx) in a row: the key's own circuit. */
    int failures;

    KeyState(HubConfig.Key key, String secret, Limiter limiter) {
      this.id = key.id();
      this.secret = secret;
      this.rpm = key.rpm();
      this.tpm = key.tpm();
      this.limiter = limiter;
    }

    boolean usable(long now) {
      return !disabled && now >= coolUntil;
    }
  }

  /** A key taken for one call, or how long to wait before asking again ({@code key} null). */
  record Acquired(KeyState key, long waitNanos) {
  }

  private final String provider;
  private final List<KeyState> keys = new ArrayList<>();
  private int next;

  /**
   * @param limiters makes a key's limiter from {requests/s, tokens/s, request burst, token burst}
   */
  KeyPool(String provider, List<HubConfig.Key> configured, Map<String, String> secrets,
          Function<double[], Function<String, Limiter>> limiters) {
    this.provider = provider;
    for (HubConfig.Key k : configured) {
      double rps = MARGIN * k.rpm() / 60.0;
      double tps = MARGIN * k.tpm() / 60.0;
      double[] limits = {rps, tps, Math.max(1, BURST_SECONDS * rps), BURST_SECONDS * tps};
      keys.add(new KeyState(k, secrets.get(k.id()), limiters.apply(limits).apply(provider + "/" + k.id())));
    }
  }

  List<KeyState> keys() {
    return keys;
  }

  boolean anyEnabled() {
    return keys.stream().anyMatch(k -> !k.disabled);
  }

  /** Tries the usable keys in turn, starting after the last one used. */
  Future<Acquired> acquire(long reserve) {
    long now = System.nanoTime();
    List<KeyState> order = new ArrayList<>();
    long coolWait = Long.MAX_VALUE;
    for (int i = 0; i < keys.size(); i++) {
      KeyState k = keys.get((next + i) % keys.size());
      if (k.usable(now)) {
        order.add(k);
      } else if (!k.disabled) {
        coolWait = Math.min(coolWait, k.coolUntil - now);
      }
    }
    return tryKeys(order, 0, reserve, coolWait);
  }

  private Future<Acquired> tryKeys(List<KeyState> order, int i, long reserve, long bestWait) {
    if (i >= order.size()) {
      return Future.succeededFuture(new Acquired(null, bestWait));
    }
    KeyState k = order.get(i);
    return k.limiter.take(reserve).compose(wait -> {
      if (wait == 0) {
        next = (keys.indexOf(k) + 1) % keys.size();
        return Future.succeededFuture(new Acquired(k, 0));
      }
      return tryKeys(order, i + 1, reserve, Math.min(bestWait, wait));
    });
  }

  /** Settles a reservation to the real usage. */
  void settle(KeyState k, long reserved, long used) {
    k.limiter.settle(reserved - used);
  }

  void cooldown(KeyState k, long millis, long now, String why) {
    long until = now + millis * 1_000_000;
    if (until > k.coolUntil) {
      k.coolUntil = until;
      LOG.info("key " + provider + "/" + k.id + " cools down for " + millis + " ms (" + why + ")");
    }
  }

  void enable(KeyState k) {
    if (k.disabled || k.coolUntil > System.nanoTime()) {
      LOG.info("key " + provider + "/" + k.id + " is back in the pool");
    }
    k.disabled = false;
    k.coolUntil = 0;
    k.failures = 0;
  }

  void disable(KeyState k, int status) {
    if (!k.disabled) {
      k.disabled = true;
      LOG.warning("key " + provider + "/" + k.id + " was refused by the provider (HTTP " + status
        + "): taken out of the pool");
    }
  }
}
