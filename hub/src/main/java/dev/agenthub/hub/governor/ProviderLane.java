package dev.agenthub.hub.governor;

import dev.agenthub.agents.Tokens;
import dev.agenthub.hub.config.HubConfig;
import dev.agenthub.hub.metrics.HubMetrics;
import io.micrometer.core.instrument.Gauge;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;

import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The way to one provider: its key pool, the fair queue of calls waiting for a key, and the retry
 * policy. A call reserves one request and its estimated tokens (input + max output) on a key with
 * room, settles to the real usage afterwards, and on 429/529/5xx cools the key down (honouring
 * {@code Retry-After}) and retries on the next usable key after a full-jitter exponential backoff,
 * within a bound on retries and the call's deadline. A key answering 401/403 leaves the pool.
 */
final class ProviderLane {

  /** No key could take the call before its deadline, or every key is out of the pool. */
  static final class NoCapacity extends RuntimeException {
    NoCapacity(String message) {
      super(message, null, false, false);
    }
  }

  /** The provider refused the request itself (a 4xx other than 401/403/429). */
  static final class Rejected extends RuntimeException {
    Rejected(String message) {
      super(message, null, false, false);
    }
  }

  private record Waiter(long reserve, long deadline, long since, Promise<KeyPool.KeyState> promise) {
  }

  private static final long BACKOFF_BASE_MS = 250;
  private static final long BACKOFF_CAP_MS = 8_000;
  private static final Pattern DURATION = Pattern.compile("(?:(\\d+)h)?(?:(\\d+)m(?!s))?(?:([\\d.]+)s)?(?:(\\d+)ms)?");

  private final Vertx vertx;
  private final HubConfig.Provider provider;
  private final KeyPool pool;
  private final ProviderClient client;
  private final HubMetrics metrics;
  private final FairQueue<Waiter> queue;
  private long timer = -1;
  private boolean pumping;

  ProviderLane(Vertx vertx, HubConfig.Provider provider, KeyPool pool, ProviderClient client, HubMetrics metrics,
               java.util.function.ToIntFunction<String> weights) {
    this.queue = new FairQueue<>(weights);
    this.vertx = vertx;
    this.provider = provider;
    this.pool = pool;
    this.client = client;
    this.metrics = metrics;
    for (KeyPool.KeyState k : pool.keys()) {
      Gauge.builder("agenthub_key_available", k, s -> s.disabled ? 0 : s.limiter.headroom())
        .description("Share of a key's request bucket that is free (1 = full headroom)")
        .tag("key", provider.id() + "/" + k.id).register(metrics.registry());
    }
  }

  Future<ProviderClient.Result> call(String agent, String priority, HubConfig.Model model, JsonArray messages,
                                     JsonArray tools, int maxTokens, long deadline) {
    long reserve = Tokens.estimate(messages.encode()) + Tokens.estimate(tools.encode()) / 2 + maxTokens;
    return attempt(agent, priority, model, messages, tools, maxTokens, reserve, deadline, 0);
  }

  private Future<ProviderClient.Result> attempt(String agent, String priority, HubConfig.Model model, JsonArray messages,
                                                JsonArray tools, int maxTokens, long reserve, long deadline, int n) {
    return acquire(agent, priority, reserve, deadline).compose(key -> {
      long remainingMs = Math.max(1, (deadline - System.nanoTime()) / 1_000_000);
      return client.complete(key.secret, model.name(), messages, tools, maxTokens,
          Math.min(provider.timeoutMs(), remainingMs))
        .compose(result -> {
          long now = System.nanoTime();
          observe(key, result.headers(), now);
          if (result.ok()) {
            pool.settle(key, reserve, result.inputTokens() + result.outputTokens());
            return Future.succeededFuture(result.withKey(key.id));
          }
          pool.settle(key, reserve, 0);
          int status = result.status();
          if (status == 401 || status == 403) {
            pool.disable(key, status);
            return pool.anyEnabled() ? attempt(agent, priority, model, messages, tools, maxTokens, reserve, deadline, n)
              : Future.failedFuture(new NoCapacity("every key of provider " + provider.id() + " was refused"));
          }
          boolean retryable = status == 0 || status == 429 || status == 529 || status >= 500;
          if (!retryable) {
            return Future.failedFuture(new Rejected("provider " + provider.id() + " answered " + status + ": "
              + result.error()));
          }
          long backoff = backoffMs(n);
          pool.cooldown(key, Math.max(retryAfterMs(result.headers(), backoff), 1), now,
            status == 0 ? "network: " + result.error() : "HTTP " + status);
          if (n >= provider.maxRetries() || now + backoff * 1_000_000 >= deadline) {
            return Future.failedFuture(new NoCapacity("provider " + provider.id() + " still failing after " + (n + 1)
              + " attempts (last: " + (status == 0 ? result.error() : "HTTP " + status) + ")"));
          }
          Promise<ProviderClient.Result> retry = Promise.promise();
          vertx.setTimer(backoff, id -> attempt(agent, priority, model, messages, tools, maxTokens, reserve, deadline, n + 1)
            .onComplete(retry));
          return retry.future();
        });
    });
  }

  /** Full jitter: a random wait between 0 and min(cap, base * 2^n). */
  static long backoffMs(int n) {
    long ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS << Math.min(n, 10));
    return 1 + ThreadLocalRandom.current().nextLong(ceiling);
  }

  private Future<KeyPool.KeyState> acquire(String agent, String priority, long reserve, long deadline) {
    if (!pool.anyEnabled()) {
      return Future.failedFuture(new NoCapacity("no usable key for provider " + provider.id()));
    }
    Promise<KeyPool.KeyState> promise = Promise.promise();
    queue.add(agent, priority, new Waiter(reserve, deadline, System.nanoTime(), promise));
    pump();
    return promise.future();
  }

  /** Serves the queue head by head; one pump at a time, as taking a key may be a cluster round trip. */
  private void pump() {
    if (pumping) {
      return;
    }
    Waiter w = queue.peek();
    if (w == null) {
      return;
    }
    long now = System.nanoTime();
    if (now >= w.deadline()) {
      queue.poll();
      w.promise().fail(new NoCapacity("no key of provider " + provider.id() + " had room before the deadline"));
      pump();
      return;
    }
    pumping = true;
    pool.acquire(w.reserve()).onComplete(ar -> {
      pumping = false;
      if (ar.failed()) {
        // the cluster map did not answer: try again shortly
        schedule(50_000_000L);
        return;
      }
      KeyPool.Acquired got = ar.result();
      if (got.key() != null) {
        queue.poll();
        metrics.rateLimitWait(provider.id() + "/" + got.key().id, System.nanoTime() - w.since());
        w.promise().complete(got.key());
        pump();
      } else if (got.waitNanos() == Long.MAX_VALUE && !pool.anyEnabled()) {
        queue.poll();
        w.promise().fail(new NoCapacity("every key of provider " + provider.id() + " is out of the pool"));
        pump();
      } else {
        long wait = got.waitNanos() == Long.MAX_VALUE ? 50_000_000L : got.waitNanos();
        schedule(Math.min(wait, Math.max(1, w.deadline() - System.nanoTime())));
      }
    });
  }

  private void schedule(long nanos) {
    if (timer >= 0) {
      return;
    }
    timer = vertx.setTimer(Math.max(1, nanos / 1_000_000), id -> {
      timer = -1;
      pump();
    });
  }

  /**
   * Reads the provider's view of the key: with nothing left, the key rests until one more request
   * (or its reset, if sooner) would be admitted; our own buckets do the rest.
   */
  private void observe(KeyPool.KeyState key, MultiMap headers, long now) {
    if (headers == null) {
      return;
    }
    for (String kind : new String[]{"requests", "tokens"}) {
      String remaining = headers.get("x-ratelimit-remaining-" + kind);
      if ("0".equals(remaining)) {
        long reset = parseDurationMs(headers.get("x-ratelimit-reset-" + kind));
        long limit = parseLong(headers.get("x-ratelimit-limit-" + kind));
        long one = kind.equals("requests") && limit > 0 ? (60_000 + limit - 1) / limit : reset;
        long rest = reset > 0 ? Math.min(reset, one) : one;
        if (rest > 0) {
          pool.cooldown(key, rest, now, "provider reports no " + kind + " left");
        }
      }
      String anthropic = headers.get("anthropic-ratelimit-" + kind + "-remaining");
      if ("0".equals(anthropic)) {
        pool.cooldown(key, 1_000, now, "provider reports no " + kind + " left");
      }
    }
  }

  private static long parseLong(String text) {
    try {
      return text == null ? 0 : Long.parseLong(text.trim());
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  static long retryAfterMs(MultiMap headers, long fallback) {
    if (headers == null) {
      return fallback;
    }
    String ms = headers.get("retry-after-ms");
    if (ms != null) {
      try {
        return Long.parseLong(ms.trim());
      } catch (NumberFormatException ignored) {
        // fall through to Retry-After
      }
    }
    String seconds = headers.get("Retry-After");
    if (seconds != null) {
      try {
        return (long) (Double.parseDouble(seconds.trim()) * 1000);
      } catch (NumberFormatException ignored) {
        // an HTTP date: use our own backoff
      }
    }
    return fallback;
  }

  /** OpenAI's reset durations: {@code 1s}, {@code 250ms}, {@code 6m0s}, {@code 1h2m3.5s}. */
  static long parseDurationMs(String text) {
    if (text == null || text.isBlank()) {
      return 0;
    }
    Matcher m = DURATION.matcher(text.trim());
    if (!m.matches()) {
      return 0;
    }
    double ms = 0;
    if (m.group(1) != null) {
      ms += Long.parseLong(m.group(1)) * 3_600_000.0;
    }
    if (m.group(2) != null) {
      ms += Long.parseLong(m.group(2)) * 60_000.0;
    }
    if (m.group(3) != null) {
      ms += Double.parseDouble(m.group(3)) * 1000;
    }
    if (m.group(4) != null) {
      ms += Long.parseLong(m.group(4));
    }
    return (long) Math.ceil(ms);
  }
}
