package dev.agenthub.governor;

import dev.agenthub.config.HubConfig;
import dev.agenthub.protocol.ModelCall;
import dev.agenthub.protocol.Priority;
import dev.agenthub.protocol.TokenCounter;
import dev.agenthub.protocol.ToolChoice;

import io.micrometer.core.instrument.Gauge;
import io.opentelemetry.api.trace.Span;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Consumer;
import java.util.function.ToIntFunction;
import java.util.logging.Logger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The way to one provider: its key pool, the fair queue of calls waiting for a key or a connection,
 * the provider's circuit breaker and the retry policy. A call waits (bounded: {@code max-waiting}
 * calls, each until its deadline) until a key has room for one request and its estimated tokens
 * (input counted with the model's tokenizer, plus the output cap) and the provider's connections
 * have room ({@code max-connections}, each one call over HTTP/1.1, many over HTTP/2); it settles
 * the key to the real usage afterwards. On
 * 429/529/5xx/network errors the key cools down (honouring {@code Retry-After}) and the call is
 * retried on the next usable key after a full-jitter exponential backoff, within a bound on retries
 * and the deadline — but never once part of a streamed answer went out. A key answering 401/403
 * leaves the pool (until an admin puts it back); a key failing {@code circuit.failures} times in a
 * row rests for {@code circuit.open}; so does the whole provider, and then calls fail at once so the
 * governor can use the fallbacks.
 */
final class ProviderLane {

  /** No key could take the call before its deadline, the provider is down, or too many calls wait. */
  static final class NoCapacity extends RuntimeException {
    NoCapacity(String message) {
      super(message, null, false, false);
    }
  }

  /** The provider refused the request itself (a 4xx other than 401/403/429). */
  static final class Rejected extends RuntimeException {
    final int status;
    final String param;

    Rejected(int status, String message, String param) {
      super(message, null, false, false);
      this.status = status;
      this.param = param;
    }
  }

  /** The provider failed after part of a streamed answer had gone out: the call cannot be retried. */
  static final class StreamBroken extends RuntimeException {
    StreamBroken(String message) {
      super(message, null, false, false);
    }
  }

  /** A call the governor can cut short. */
  interface Handle {
    Future<ProviderClient.Result> result();

    void cancel();
  }

  private static final Logger LOG = Logger.getLogger(ProviderLane.class.getName());
  private static final long BACKOFF_BASE_MS = 250;
  private static final long BACKOFF_CAP_MS = 8_000;
  private static final Pattern DURATION = Pattern.compile("(?:(\\d+)h)?(?:(\\d+)m(?!s))?(?:([\\d.]+)s)?(?:(\\d+)ms)?");

  private final Vertx vertx;
  private final HubConfig.Provider provider;
  private final KeyPool pool;
  private final ProviderClient client;
  private final GovernorEvents metrics;
  private final FairQueue<Pending> queue;
  private final CircuitBreaker circuit;
  private final int maxInFlight;
  private long timer = -1;
  private boolean pumping;
  private int inFlight;
  private int waiting;
  private long peakInFlight;

  ProviderLane(Vertx vertx, HubConfig.Provider provider, KeyPool pool, ProviderClient client, GovernorEvents metrics,
               ToIntFunction<String> weights) {
    this.queue = new FairQueue<>(weights);
    this.vertx = vertx;
    this.provider = provider;
    this.pool = pool;
    this.client = client;
    this.metrics = metrics;
    this.circuit = new CircuitBreaker(provider.circuit());
    this.maxInFlight = HttpProviderClient.maxInFlight(provider);
    String id = provider.id();
    for (KeyPool.KeyState k : pool.keys()) {
      Gauge.builder("agenthub_key_available", k, s -> s.disabled ? 0 : s.limiter.headroom())
        .description("Share of a key's request bucket that is free (1 = full headroom)")
        .tag("key", id + "/" + k.id).register(metrics.registry());
    }
    Gauge.builder("agenthub_provider_in_flight", this, l -> l.inFlight).tag("provider", id)
      .description("Calls to the provider in flight from this node").register(metrics.registry());
    Gauge.builder("agenthub_provider_waiting", this, l -> l.waiting).tag("provider", id)
      .description("Calls waiting for a key with room or a free connection").register(metrics.registry());
    Gauge.builder("agenthub_provider_circuit", this, l -> l.circuit.state(System.nanoTime()).ordinal())
      .tag("provider", id).description("Circuit breaker: 0 closed, 1 open, 2 half-open").register(metrics.registry());
  }

  /**
   * One call: plain when {@code deltas} is null, else streamed piece by piece to it. {@code knownInput}
   * is the prompt's tokens as the agent counted them with the same counter (0: count them here).
   */
  Handle call(String agent, Priority priority, HubConfig.Model model, JsonArray messages, JsonArray tools,
              ToolChoice toolChoice, int maxTokens, List<String> stop, long deadline, Consumer<String> deltas,
              TokenCounter counter, int knownInput) {
    long input = knownInput > 0 ? knownInput
      : counter.countMessages(messages) + (tools.isEmpty() ? 0 : counter.count(tools.encode()));
    Pending p = new Pending(agent, priority, model, messages, tools, toolChoice, maxTokens, stop, deadline, deltas,
      input + maxTokens);
    p.estimatedInput = input;
    p.counter = counter;
    attempt(p);
    return p;
  }

  /** Calls in flight now, waiting now, and the most in flight at once since the lane started. */
  long[] load() {
    return new long[]{inFlight, waiting, peakInFlight};
  }

  CircuitBreaker.State circuit() {
    return circuit.state(System.nanoTime());
  }

  KeyPool pool() {
    return pool;
  }

  /** One call's life in the lane, over its attempts. */
  private final class Pending implements Handle {
    final String agent;
    final Priority priority;
    final HubConfig.Model model;
    final JsonArray messages;
    final JsonArray tools;
    final ToolChoice toolChoice;
    final int maxTokens;
    final List<String> stop;
    final long deadline;
    final Consumer<String> deltas;
    final long reserve;
    final long since = System.nanoTime();
    final Promise<ProviderClient.Result> promise = Promise.promise();
    long estimatedInput;
    TokenCounter counter;
    int attempts;
    boolean queued;
    boolean cancelled;
    boolean streamed;
    ProviderClient.Exchange exchange;
    // the caller's context, and whether a trace is current on it
    final Context origin = Vertx.currentContext();
    final boolean traced = Span.current().getSpanContext().isValid();

    Pending(String agent, Priority priority, HubConfig.Model model, JsonArray messages, JsonArray tools,
            ToolChoice toolChoice, int maxTokens, List<String> stop, long deadline, Consumer<String> deltas, long reserve) {
      this.agent = agent;
      this.priority = priority;
      this.model = model;
      this.messages = messages;
      this.tools = tools;
      this.toolChoice = toolChoice;
      this.maxTokens = maxTokens;
      this.stop = stop;
      this.deadline = deadline;
      this.deltas = deltas;
      this.reserve = reserve;
    }

    @Override
    public Future<ProviderClient.Result> result() {
      return promise.future();
    }

    @Override
    public void cancel() {
      if (promise.future().isComplete() || cancelled) {
        return;
      }
      cancelled = true;
      if (exchange != null) {
        exchange.cancel(); // its result comes back through the attempt, usage estimated there
      } else {
        // still waiting: it never reached the provider and costs nothing
        promise.tryComplete(ProviderClient.Result.answer(MultiMap.caseInsensitiveMultiMap(), "", new JsonArray(),
          ModelCall.Usage.NONE, ModelCall.CANCELLED));
      }
    }
  }

  private void attempt(Pending p) {
    if (p.cancelled || p.promise.future().isComplete()) {
      return;
    }
    if (!pool.anyEnabled()) {
      p.promise.tryFail(new NoCapacity("every key of provider " + provider.id() + " is out of the pool"));
      return;
    }
    if (waiting >= provider.maxWaiting()) {
      metrics.refused("provider_queue");
      p.promise.tryFail(new NoCapacity("provider " + provider.id() + " has " + waiting
        + " calls waiting already (max-waiting)"));
      return;
    }
    if (!circuit.allow(System.nanoTime())) {
      p.promise.tryFail(new NoCapacity("provider " + provider.id() + " is failing: its circuit is open"));
      return;
    }
    p.queued = true;
    waiting++;
    queue.add(p.agent, p.priority, p);
    pump();
  }

  /** Serves the queue head by head; one pump at a time, as taking a key may be a cluster round trip. */
  private void pump() {
    while (!pumping) {
      Pending p = queue.peek();
      if (p == null) {
        return;
      }
      long now = System.nanoTime();
      if (p.cancelled || p.promise.future().isComplete()) {
        dequeue();
        continue;
      }
      if (now >= p.deadline) {
        dequeue();
        p.promise.tryFail(new NoCapacity("no key of provider " + provider.id() + " had room before the deadline"));
        continue;
      }
      if (inFlight >= maxInFlight) {
        return; // a finishing call pumps again
      }
      pumping = true;
      Future<KeyPool.Acquired> acquired = pool.acquire(p.reserve);
      if (acquired.isComplete()) {
        pumping = false;
        if (!served(p, acquired)) {
          return;
        }
      } else {
        acquired.onComplete(ar -> {
          pumping = false;
          if (served(p, acquired)) {
            pump();
          }
        });
        return;
      }
    }
  }

  private void dequeue() {
    Pending p = queue.poll();
    if (p != null && p.queued) {
      p.queued = false;
      waiting--;
    }
  }

  /** Starts the head call if a key was taken; false when the pump must wait. */
  private boolean served(Pending p, Future<KeyPool.Acquired> acquired) {
    if (acquired.failed()) {
      schedule(50_000_000L); // the cluster map did not answer: try again shortly
      return false;
    }
    KeyPool.Acquired got = acquired.result();
    if (got.key() != null) {
      dequeue();
      if (p.cancelled || p.promise.future().isComplete()) {
        pool.settle(got.key(), p.reserve, 0);
        return true;
      }
      metrics.rateLimitWait(provider.id() + "/" + got.key().id, System.nanoTime() - p.since);
      send(p, got.key());
      return true;
    }
    if (got.waitNanos() == Long.MAX_VALUE && !pool.anyEnabled()) {
      dequeue();
      p.promise.tryFail(new NoCapacity("every key of provider " + provider.id() + " is out of the pool"));
      return true;
    }
    long wait = got.waitNanos() == Long.MAX_VALUE ? 50_000_000L : got.waitNanos();
    schedule(Math.min(wait, Math.max(1, p.deadline - System.nanoTime())));
    return false;
  }

  private void send(Pending p, KeyPool.KeyState key) {
    inFlight++;
    peakInFlight = Math.max(peakInFlight, inFlight);
    long remainingMs = Math.max(1, (p.deadline - System.nanoTime()) / 1_000_000);
    Consumer<String> sink = p.deltas == null ? null : text -> {
      p.streamed = true;
      p.deltas.accept(text);
    };
    p.attempts++;
    ProviderClient.Call call = new ProviderClient.Call(key.secret, p.model, p.messages, p.tools, p.toolChoice, p.maxTokens, p.stop,
      Math.min(provider.timeoutMs(), remainingMs), sink);
    if (p.traced && Vertx.currentContext() != p.origin) {
      // a traced call goes out on its caller's context, where its trace is current: the HTTP client
      // makes the provider request a span of that trace and sends its traceparent
      p.origin.runOnContext(v -> {
        if (p.cancelled) {
          inFlight--;
          pool.settle(key, p.reserve, 0);
          pump();
        } else {
          start(p, key, call);
        }
      });
    } else {
      start(p, key, call);
    }
  }

  private void start(Pending p, KeyPool.KeyState key, ProviderClient.Call call) {
    p.exchange = client.start(call);
    p.exchange.result().onComplete(ar -> {
      inFlight--;
      p.exchange = null;
      ProviderClient.Result result = ar.succeeded() ? ar.result()
        : ProviderClient.Result.failure(0, MultiMap.caseInsensitiveMultiMap(), ar.cause().getClass().getSimpleName(), null);
      handle(p, key, result);
      pump();
    });
  }

  private void handle(Pending p, KeyPool.KeyState key, ProviderClient.Result result) {
    long now = System.nanoTime();
    observe(key, result.headers(), now);
    if (result.ok()) {
      circuit.success();
      key.failures = 0;
      ModelCall.Usage usage = result.usage();
      if (ModelCall.CANCELLED.equals(result.finishReason()) && usage.input() == 0) {
        // cut short before the provider reported usage: it bills what it read and wrote so far
        usage = new ModelCall.Usage(p.estimatedInput, 0, 0, p.counter.count(result.content()), 0);
        result = result.withUsage(usage);
      }
      pool.settle(key, p.reserve, usage.input() + usage.output());
      p.promise.tryComplete(result.withKey(key.id));
      return;
    }
    pool.settle(key, p.reserve, 0);
    int status = result.status();
    boolean outage = status == 0 || status == 529 || status >= 500;
    if (outage) {
      circuit.failure(now);
      key.failures++;
      if (provider.circuit().failures() > 0 && key.failures >= provider.circuit().failures()) {
        pool.cooldown(key, provider.circuit().openMs(), now, key.failures + " failures in a row");
      }
    } else {
      circuit.success(); // the provider answered: it is up, whatever it thought of the request
    }
    if (p.streamed) {
      p.promise.tryFail(new StreamBroken("provider " + provider.id() + " failed mid-stream ("
        + (status == 0 ? result.error() : "HTTP " + status) + ")"));
      return;
    }
    if (p.cancelled) {
      p.promise.tryComplete(ProviderClient.Result.answer(result.headers(), "", new JsonArray(), ModelCall.Usage.NONE,
        ModelCall.CANCELLED));
      return;
    }
    if (status == 401 || status == 403) {
      pool.disable(key, status);
      metrics.audit("key_disabled", new JsonObject().put("key", provider.id() + "/" + key.id)
        .put("status", status));
      attempt(p);
      return;
    }
    boolean retryable = outage || status == 429;
    if (!retryable) {
      p.promise.tryFail(new Rejected(status, "provider " + provider.id() + " refused the request (HTTP " + status
        + (result.param() == null ? "" : ", parameter '" + result.param() + "'") + "): " + result.error(),
        result.param()));
      return;
    }
    int n = p.attempts - 1;
    long backoff = backoffMs(n);
    pool.cooldown(key, Math.max(retryAfterMs(result.headers(), backoff), 1), now,
      status == 0 ? "network: " + result.error() : "HTTP " + status);
    if (n >= provider.maxRetries() || now + backoff * 1_000_000 >= p.deadline) {
      p.promise.tryFail(new NoCapacity("provider " + provider.id() + " still failing after " + p.attempts
        + " attempts (last: " + (status == 0 ? result.error() : "HTTP " + status) + ")"));
      return;
    }
    vertx.setTimer(backoff, id -> attempt(p));
  }

  /** Full jitter: a random wait between 0 and min(cap, base * 2^n). */
  static long backoffMs(int n) {
    long ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS << Math.min(n, 10));
    return 1 + ThreadLocalRandom.current().nextLong(ceiling);
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

  /** Puts a key back into the pool (an admin's word after a 401/403 was fixed). */
  boolean enable(String keyId) {
    for (KeyPool.KeyState k : pool.keys()) {
      if (k.id.equals(keyId)) {
        pool.enable(k);
        pump();
        return true;
      }
    }
    return false;
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
