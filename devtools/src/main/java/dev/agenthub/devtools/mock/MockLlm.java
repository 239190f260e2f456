package dev.agenthub.devtools.mock;

import dev.agenthub.governor.SimProvider;
import dev.agenthub.governor.TokenBucket;
import dev.agenthub.protocol.Hashes;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.Http2Settings;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SelfSignedCertificate;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;

import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A stand-in for today's model providers, as a real HTTP server (HTTP/1.1 and HTTP/2, optionally TLS
 * with ALPN), as strict as the real APIs where they are strict:
 * <ul>
 *   <li>OpenAI chat completions ({@link MockOpenAi}): unknown fields refused, {@code max_tokens} and
 *   {@code stop} refused for reasoning models ({@code gpt-5*}, {@code o1}/{@code o3}/{@code o4}...),
 *   tool messages checked against the tool calls they answer; streams with usage only when
 *   {@code stream_options.include_usage} asks; cached and reasoning tokens reported.</li>
 *   <li>Anthropic messages ({@link MockAnthropic}): {@code x-api-key} and {@code anthropic-version}
 *   required, {@code system} only at the top, roles user/assistant, tool results checked; SSE events
 *   as Anthropic sends them; cache reads and writes at the {@code cache_control} breakpoints.</li>
 *   <li>the OpenAI batch API ({@code /files}, {@code /batches}).</li>
 * </ul>
 * Answers come from the sim model (deterministic). Each key's RPM/TPM is enforced exactly as the
 * contract defines them ({@link TokenBucket}): 429 with {@code Retry-After} and rate-limit headers.
 * Streamed answers are spread over the latency. {@code GET /stats} counts what it answered, calls in
 * flight (now and at most), first-byte times and protocols; keys are named by a short hash, never the
 * secret.
 */
public final class MockLlm {

  /** A key the mock accepts: its secret and limits. */
  public record Key(String secret, int rpm, int tpm) {
    public static Key parse(String spec) {
      String[] parts = spec.split(":");
      if (parts.length != 3) {
        throw new IllegalArgumentException("--key is SECRET:RPM:TPM, got '" + spec + "'");
      }
      return new Key(parts[0], Integer.parseInt(parts[1]), Integer.parseInt(parts[2]));
    }
  }

  /** One key's buckets and counts. */
  static final class KeyState {
    final String name;
    final TokenBucket requests;
    final TokenBucket tokens;
    final int rpm;
    final int tpm;
    final AtomicLong count = new AtomicLong();
    final AtomicLong ok = new AtomicLong();
    final AtomicLong limited = new AtomicLong();

    KeyState(Key key, long now) {
      this.name = shortHash(key.secret());
      this.rpm = key.rpm();
      this.tpm = key.tpm();
      this.requests = new TokenBucket(key.rpm() / 60.0, key.rpm() / 60.0, now);
      this.tokens = new TokenBucket(key.tpm() / 60.0, key.tpm() / 60.0, now);
    }
  }

  /** How long a refused call must wait, in ms; 0 when admitted. */
  record Admission(long waitMs) {
    boolean admitted() {
      return waitMs == 0;
    }
  }

  final Vertx vertx;
  final long latencyMs;
  private final double errorRate;
  private final Map<String, KeyState> keys = new LinkedHashMap<>();
  final SimProvider sim = new SimProvider();
  final MockPromptCache promptCache = new MockPromptCache();
  private final Random random = new Random(42);
  private final AtomicLong requests = new AtomicLong();
  private final AtomicLong ok = new AtomicLong();
  private final AtomicLong limited = new AtomicLong();
  private final AtomicLong errors = new AtomicLong();
  private final AtomicLong rejected = new AtomicLong();
  private final AtomicLong inFlight = new AtomicLong();
  private final AtomicLong maxInFlight = new AtomicLong();
  private final AtomicLong streams = new AtomicLong();
  private final AtomicLong cancelled = new AtomicLong();
  private final AtomicLong firstBytes = new AtomicLong();
  private final AtomicLong firstByteNanos = new AtomicLong();
  private final AtomicLong http2 = new AtomicLong();
  private final MockOpenAi openAi = new MockOpenAi(this);
  private final MockAnthropic anthropic = new MockAnthropic(this);
  private final boolean tls;
  private HttpServer server;
  private SelfSignedCertificate certificate;

  public MockLlm(Vertx vertx, long latencyMs, double errorRate, List<Key> keys) {
    this(vertx, latencyMs, errorRate, keys, false);
  }

  /** @param tls serve HTTPS with a self-signed certificate (see {@link #certificatePath()}), HTTP/2 by ALPN */
  public MockLlm(Vertx vertx, long latencyMs, double errorRate, List<Key> keys, boolean tls) {
    this.vertx = vertx;
    this.latencyMs = latencyMs;
    this.errorRate = errorRate;
    this.tls = tls;
    long now = System.nanoTime();
    keys.forEach(k -> this.keys.put(k.secret(), new KeyState(k, now)));
  }

  // the W3C traceparent headers of the last thousand requests, oldest first
  private final ConcurrentLinkedDeque<String> traceparents =
    new ConcurrentLinkedDeque<>();

  /** The {@code traceparent} headers of the last thousand requests that carried one, oldest first. */
  public List<String> traceparents() {
    return List.copyOf(traceparents);
  }

  public Future<Integer> listen(String host, int port) {
    Router router = Router.router(vertx);
    BodyHandler json = BodyHandler.create(false).setBodyLimit(8 * 1024 * 1024);
    router.route().handler(ctx -> {
      if (ctx.request().version() == HttpVersion.HTTP_2) {
        http2.incrementAndGet();
      }
      String traceparent = ctx.request().getHeader("traceparent");
      if (traceparent != null) {
        traceparents.addLast(traceparent);
        if (traceparents.size() > 1000) {
          traceparents.pollFirst();
        }
      }
      ctx.next();
    });
    router.post("/v1/chat/completions").handler(json).handler(openAi::complete);
    router.post("/v1/messages").handler(json).handler(anthropic::messages);
    router.get("/stats").handler(ctx -> ctx.json(stats()));
    router.post("/v1/files").handler(BodyHandler.create(System.getProperty("java.io.tmpdir") + "/agenthub-mock-uploads")
      .setBodyLimit(64 * 1024 * 1024).setDeleteUploadedFilesOnEnd(true)).handler(this::upload);
    router.post("/v1/batches").handler(BodyHandler.create(false)).handler(this::createBatch);
    router.get("/v1/batches/:id").handler(this::getBatch);
    router.get("/v1/files/:id/content").handler(this::fileContent);
    // providers allow on the order of a hundred streams per HTTP/2 connection
    HttpServerOptions options = new HttpServerOptions().setInitialSettings(new Http2Settings().setMaxConcurrentStreams(100))
      .setTcpNoDelay(true);
    if (tls) {
      certificate = SelfSignedCertificate.create("localhost");
      options.setSsl(true).setUseAlpn(true).setKeyCertOptions(certificate.keyCertOptions());
    }
    server = vertx.createHttpServer(options).requestHandler(router);
    return server.listen(port, host).map(HttpServer::actualPort);
  }

  /** The PEM certificate a TLS mock serves (for a provider's {@code ca-file}); null without TLS. */
  public String certificatePath() {
    return certificate == null ? null : certificate.certificatePath();
  }

  public Future<Void> close() {
    return server == null ? Future.succeededFuture() : server.close();
  }

  public JsonObject stats() {
    JsonObject byKey = new JsonObject();
    keys.values().forEach(k -> byKey.put(k.name, new JsonObject().put("requests", k.count.get())
      .put("ok", k.ok.get()).put("rate_limited", k.limited.get()).put("rpm", k.rpm).put("tpm", k.tpm)));
    long fb = firstBytes.get();
    return new JsonObject().put("requests", requests.get()).put("ok", ok.get()).put("rate_limited", limited.get())
      .put("errors", errors.get()).put("rejected", rejected.get()).put("in_flight", inFlight.get())
      .put("max_in_flight", maxInFlight.get()).put("streams", streams.get()).put("cancelled", cancelled.get()).put("http2_requests", http2.get())
      .put("first_byte_ms_avg", fb == 0 ? 0.0 : firstByteNanos.get() / 1e6 / fb)
      .put("batches", batchCount.get()).put("by_key", byKey);
  }

  // ---- shared by the two APIs ----

  /** Counts a request; returns its key, or null when keys are configured and this one is not among them. */
  KeyState key(String secret) {
    requests.incrementAndGet();
    return secret == null ? null : keys.get(secret);
  }

  boolean anyKey() {
    return keys.isEmpty();
  }

  /** A request the provider refused as malformed (400) or unauthenticated (401). */
  void refused() {
    rejected.incrementAndGet();
  }

  void failed() {
    errors.incrementAndGet();
  }

  /** Both limits must admit the call: one request and {@code reserve} tokens (prompt + output cap). */
  Admission admit(KeyState key, long reserve) {
    if (key == null) {
      return new Admission(0);
    }
    long now = System.nanoTime();
    key.count.incrementAndGet();
    long waitReq = key.requests.nanosUntil(1, now);
    long waitTok = key.tokens.nanosUntil(reserve, now);
    if (waitReq > 0 || waitTok > 0 || !key.requests.tryTake(1, now)) {
      key.limited.incrementAndGet();
      limited.incrementAndGet();
      return new Admission(Math.max(1, Math.max(waitReq, waitTok) / 1_000_000));
    }
    key.tokens.tryTake(reserve, now);
    return new Admission(0);
  }

  /** Gives back the reserved output tokens a call did not use. */
  void settle(KeyState key, long reservedOutput, long usedOutput) {
    if (key != null) {
      key.tokens.refund(reservedOutput - Math.min(reservedOutput, usedOutput), System.nanoTime());
      key.ok.incrementAndGet();
    }
    ok.incrementAndGet();
  }

  boolean injectError() {
    return errorRate > 0 && random.nextDouble() < errorRate;
  }

  static void rateHeaders(HttpServerResponse r, KeyState key) {
    if (key == null) {
      return;
    }
    long now = System.nanoTime();
    r.putHeader("x-ratelimit-limit-requests", String.valueOf(key.rpm));
    r.putHeader("x-ratelimit-limit-tokens", String.valueOf(key.tpm));
    r.putHeader("x-ratelimit-remaining-requests", String.valueOf((long) Math.max(0, key.requests.available(now))));
    r.putHeader("x-ratelimit-remaining-tokens", String.valueOf((long) Math.max(0, key.tokens.available(now))));
    r.putHeader("x-ratelimit-reset-requests", (key.requests.nanosUntil(key.requests.capacity(), now) / 1_000_000) + "ms");
    r.putHeader("x-ratelimit-reset-tokens", (key.tokens.nanosUntil(key.tokens.capacity(), now) / 1_000_000) + "ms");
  }

  /**
   * Answers after the latency: whole ({@code whole}) or streamed as {@code pieces} spread evenly over
   * it, the first after one piece's share, with {@code head} first and {@code tail} last. Counts the
   * call in flight until its response ends or its client goes away.
   */
  void answer(RoutingContext ctx, boolean stream, Runnable whole, String head, List<String> pieces, String tail) {
    HttpServerResponse r = ctx.response();
    long start = System.nanoTime();
    long now = inFlight.incrementAndGet();
    maxInFlight.accumulateAndGet(now, Math::max);
    boolean[] done = {false};
    Runnable release = () -> {
      if (!done[0]) {
        done[0] = true;
        inFlight.decrementAndGet();
      }
    };
    boolean[] complete = {false};
    r.bodyEndHandler(v -> complete[0] = true);
    r.endHandler(v -> release.run());
    r.closeHandler(v -> {
      if (!complete[0]) {
        cancelled.incrementAndGet(); // the client went away before the answer was complete
      }
      release.run();
    });
    if (!stream) {
      if (latencyMs > 0) {
        vertx.setTimer(latencyMs, id -> {
          if (!r.closed()) {
            whole.run();
          }
        });
      } else {
        whole.run();
      }
      return;
    }
    streams.incrementAndGet();
    r.setChunked(true).putHeader("Content-Type", "text/event-stream; charset=utf-8").putHeader("Cache-Control", "no-cache");
    int n = Math.max(1, pieces.size());
    double step = latencyMs / (double) n;
    sendPiece(r, head, pieces, tail, 0, step, start);
  }

  private void sendPiece(HttpServerResponse r, String head, List<String> pieces, String tail, int i, double step,
                         long start) {
    Runnable send = () -> {
      if (r.closed() || r.ended()) {
        return;
      }
      if (i == 0) {
        firstBytes.incrementAndGet();
        firstByteNanos.addAndGet(System.nanoTime() - start);
        r.write(head);
      }
      if (i < pieces.size()) {
        r.write(pieces.get(i));
      }
      if (i + 1 >= pieces.size()) {
        r.end(tail);
      } else {
        sendPiece(r, head, pieces, tail, i + 1, step, start);
      }
    };
    long delay = Math.round(step * (i + 1)) - Math.round(step * i);
    if (delay > 0) {
      vertx.setTimer(delay, id -> send.run());
    } else {
      send.run();
    }
  }

  /** The request's JSON object, or null when the body is not one (the caller answers in its API's words). */
  static JsonObject jsonBody(RoutingContext ctx) {
    try {
      return ctx.body().asJsonObject();
    } catch (RuntimeException e) {
      return null;
    }
  }

  /** A key's public name: the first 8 hex digits of its SHA-256. */
  public static String shortHash(String secret) {
    return "key-" + HexFormat.of().formatHex(Hashes.sha256(secret), 0, 4);
  }

  static MessageDigest digest() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** The hash of what {@code digest} has read so far; it reads on. */
  static String hexOf(MessageDigest digest) {
    try {
      return HexFormat.of().formatHex(((MessageDigest) digest.clone()).digest());
    } catch (CloneNotSupportedException e) {
      throw new IllegalStateException(e);
    }
  }

  static String sha(String text) {
    return Hashes.sha256Hex(text);
  }

  // ---- the OpenAI batch API ----

  private final Map<String, String> files = new ConcurrentHashMap<>();
  private final Map<String, JsonObject> batches = new ConcurrentHashMap<>();
  private final AtomicLong batchCount = new AtomicLong();

  private boolean authorized(RoutingContext ctx) {
    String auth = ctx.request().getHeader("Authorization");
    String secret = auth != null && auth.startsWith("Bearer ") ? auth.substring(7).trim() : null;
    if (!keys.isEmpty() && (secret == null || !keys.containsKey(secret))) {
      MockOpenAi.error(ctx.response(), 401, "invalid_request_error", "Incorrect API key provided", null, "invalid_api_key");
      return false;
    }
    return true;
  }

  private void upload(RoutingContext ctx) {
    if (!authorized(ctx)) {
      return;
    }
    if (ctx.fileUploads().isEmpty()) {
      MockOpenAi.error(ctx.response(), 400, "invalid_request_error", "a file is required", "file", null);
      return;
    }
    String content = vertx.fileSystem().readFileBlocking(ctx.fileUploads().get(0).uploadedFileName()).toString();
    String id = "file-" + UUID.randomUUID().toString().replace("-", "");
    files.put(id, content);
    ctx.json(new JsonObject().put("id", id).put("object", "file").put("bytes", content.length())
      .put("purpose", ctx.request().getFormAttribute("purpose")));
  }

  /** Runs every line through the sim at once; the batch reads as completed after the mock's latency. */
  private void createBatch(RoutingContext ctx) {
    if (!authorized(ctx)) {
      return;
    }
    String input = files.get(ctx.body().asJsonObject().getString("input_file_id"));
    if (input == null) {
      MockOpenAi.error(ctx.response(), 404, "invalid_request_error", "No such File object", "input_file_id", null);
      return;
    }
    StringBuilder output = new StringBuilder();
    int total = 0;
    for (String line : input.split("\n")) {
      if (line.isBlank()) {
        continue;
      }
      total++;
      JsonObject req = new JsonObject(line);
      JsonObject body = req.getJsonObject("body");
      JsonObject response;
      String invalid = openAi.validate(body);
      if (invalid != null) {
        response = new JsonObject().put("status_code", 400).put("body", new JsonObject().put("error",
          new JsonObject().put("message", invalid)));
      } else {
        response = new JsonObject().put("status_code", 200).put("body", openAi.completionOf(body));
      }
      output.append(new JsonObject().put("id", "batch_req_" + total).put("custom_id", req.getString("custom_id"))
        .put("response", response).putNull("error").encode()).append('\n');
    }
    String outputId = "file-" + UUID.randomUUID().toString().replace("-", "");
    files.put(outputId, output.toString());
    String id = "batch_" + UUID.randomUUID().toString().replace("-", "");
    long readyAt = System.currentTimeMillis() + latencyMs;
    JsonObject batch = new JsonObject().put("id", id).put("object", "batch").put("endpoint", "/v1/chat/completions")
      .put("status", "in_progress").put("output_file_id", outputId).put("ready_at", readyAt)
      .put("request_counts", new JsonObject().put("total", total).put("completed", total).put("failed", 0));
    batches.put(id, batch);
    batchCount.incrementAndGet();
    ctx.json(batch);
  }

  private void getBatch(RoutingContext ctx) {
    if (!authorized(ctx)) {
      return;
    }
    JsonObject batch = batches.get(ctx.pathParam("id"));
    if (batch == null) {
      MockOpenAi.error(ctx.response(), 404, "invalid_request_error", "No such Batch object", null, null);
      return;
    }
    boolean done = System.currentTimeMillis() >= batch.getLong("ready_at");
    JsonObject view = batch.copy().put("status", done ? "completed" : "in_progress");
    if (!done) {
      view.putNull("output_file_id");
    }
    view.remove("ready_at");
    ctx.json(view);
  }

  private void fileContent(RoutingContext ctx) {
    if (!authorized(ctx)) {
      return;
    }
    String content = files.get(ctx.pathParam("id"));
    if (content == null) {
      MockOpenAi.error(ctx.response(), 404, "invalid_request_error", "No such File object", null, null);
      return;
    }
    ctx.response().putHeader("Content-Type", "application/jsonl").end(content);
  }

  static JsonArray openAiCalls(JsonArray calls) {
    JsonArray out = new JsonArray();
    for (int i = 0; i < calls.size(); i++) {
      JsonObject c = calls.getJsonObject(i);
      Object args = c.getValue("arguments");
      // tool names as a client must spell them for OpenAI ([A-Za-z0-9_-]); the sim reads skills' dotted names
      out.add(new JsonObject().put("id", c.getString("id")).put("type", "function").put("function",
        new JsonObject().put("name", c.getString("name").replace(".", "__"))
          .put("arguments", args instanceof JsonObject o ? o.encode() : String.valueOf(args))));
    }
    return out;
  }
}
