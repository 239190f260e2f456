package dev.agenthub.hub.governor;

import dev.agenthub.hub.config.HubConfig;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.logging.Logger;

/**
 * The API keys of one provider, each with its RPM and TPM buckets (a safety margin below the
 * nominal limits, so network jitter cannot push a key over), a cooldown (after a 429, 529 or 5xx,
 * honouring {@code Retry-After}) and a disabled flag (after a 401/403). Secrets stay in here: only
 * key ids leave it. Lives on the governor's context.
 */
final class KeyPool {

  /** Fraction of a key's nominal limits the governor plans with. */
  static final double MARGIN = 0.95;
  private static final Logger LOG = Logger.getLogger(KeyPool.class.getName());

  static final class KeyState {
    final String id;
    final String secret;
    final int rpm;
    final int tpm;
    TokenBucket requests;
    TokenBucket tokens;
    long coolUntil;
    boolean disabled;

    KeyState(HubConfig.Key key, String secret, long now) {
      this.id = key.id();
      this.secret = secret;
      this.rpm = key.rpm();
      this.tpm = key.tpm();
      this.requests = new TokenBucket(MARGIN * rpm / 60.0, MARGIN * rpm / 60.0, now);
      this.tokens = new TokenBucket(MARGIN * tpm / 60.0, MARGIN * tpm / 60.0, now);
    }

    boolean usable(long now) {
      return !disabled && now >= coolUntil;
    }
  }

  private final String provider;
  private final List<KeyState> keys = new ArrayList<>();
  private int next;

  KeyPool(String provider, List<HubConfig.Key> configured, Map<String, String> secrets, long now) {
    this.provider = provider;
    for (HubConfig.Key k : configured) {
      keys.add(new KeyState(k, secrets.get(k.id()), now));
    }
  }

  private int shares = 1;

  /**
   * Plans with {@code 1/nodes} of each key's limits, so the whole cluster stays under them. New
   * buckets start empty: capacity moved between nodes never creates a fresh burst.
   */
  void share(int nodes, long now) {
    int n = Math.max(1, nodes);
    if (n == shares) {
      return;
    }
    shares = n;
    for (KeyState k : keys) {
      double rps = MARGIN * k.rpm / 60.0 / n;
      double tps = MARGIN * k.tpm / 60.0 / n;
      k.requests = new TokenBucket(rps, rps, 0, now);
      k.tokens = new TokenBucket(tps, tps, 0, now);
    }
    LOG.info("provider " + provider + ": each key's limits now shared by " + n + " node" + (n == 1 ? "" : "s"));
  }

  int shares() {
    return shares;
  }

  List<KeyState> keys() {
    return keys;
  }

  boolean anyEnabled() {
    return keys.stream().anyMatch(k -> !k.disabled);
  }

  /** A key with room for one request of {@code reserve} tokens, taken from its buckets; or null. */
  KeyState tryAcquire(long reserve, long now) {
    for (int i = 0; i < keys.size(); i++) {
      KeyState k = keys.get((next + i) % keys.size());
      if (k.usable(now) && k.requests.nanosUntil(1, now) == 0 && k.tokens.nanosUntil(reserve, now) == 0) {
        k.requests.tryTake(1, now);
        k.tokens.tryTake(reserve, now);
        next = (next + i + 1) % keys.size();
        return k;
      }
    }
    return null;
  }

  /** How long until some key could take a request of {@code reserve} tokens (Long.MAX_VALUE: none can). */
  long nanosUntilAny(long reserve, long now) {
    long best = Long.MAX_VALUE;
    for (KeyState k : keys) {
      if (k.disabled) {
        continue;
      }
      long wait = Math.max(Math.max(0, k.coolUntil - now),
        Math.max(k.requests.nanosUntil(1, now), k.tokens.nanosUntil(reserve, now)));
      best = Math.min(best, wait);
    }
    return best;
  }

  /** Settles a reservation to the real usage. */
  void settle(KeyState k, long reserved, long used, long now) {
    if (used < reserved) {
      k.tokens.refund(reserved - used, now);
    } else if (used > reserved) {
      k.tokens.charge(used - reserved, now);
    }
  }

  void cooldown(KeyState k, long millis, long now, String why) {
    long until = now + millis * 1_000_000;
    if (until > k.coolUntil) {
      k.coolUntil = until;
      LOG.info("key " + provider + "/" + k.id + " cools down for " + millis + " ms (" + why + ")");
    }
  }

  void disable(KeyState k, int status) {
    if (!k.disabled) {
      k.disabled = true;
      LOG.warning("key " + provider + "/" + k.id + " was refused by the provider (HTTP " + status
        + "): taken out of the pool");
    }
  }
}
