package dev.agenthub.hub.governor;

import dev.agenthub.agents.Tokens;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A stand-in for an OpenAI-compatible provider, as a real HTTP server: chat completions (tools,
 * streaming), answers from the sim model, and each key's RPM/TPM enforced exactly as the contract
 * defines them ({@link TokenBucket}): 429 with {@code Retry-After} and {@code x-ratelimit-*} headers.
 * Configurable latency and error rate; {@code GET /stats} counts what it answered, keys named by a
 * short hash, never the secret.
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

  private static final class KeyState {
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

  private final Vertx vertx;
  private final long latencyMs;
  private final double errorRate;
  private final Map<String, KeyState> keys = new LinkedHashMap<>();
  private final SimProvider sim = new SimProvider();
  private final Random random = new Random(42);
  private final AtomicLong requests = new AtomicLong();
  private final AtomicLong ok = new AtomicLong();
  private final AtomicLong limited = new AtomicLong();
  private final AtomicLong errors = new AtomicLong();
  private HttpServer server;

  public MockLlm(Vertx vertx, long latencyMs, double errorRate, List<Key> keys) {
    this.vertx = vertx;
    this.latencyMs = latencyMs;
    this.errorRate = errorRate;
    long now = System.nanoTime();
    keys.forEach(k -> this.keys.put(k.secret(), new KeyState(k, now)));
  }

  public Future<Integer> listen(String host, int port) {
    Router router = Router.router(vertx);
    router.post("/v1/chat/completions").handler(BodyHandler.create(false).setBodyLimit(8 * 1024 * 1024))
      .handler(this::complete);
    router.get("/stats").handler(ctx -> ctx.json(stats()));
    router.post("/v1/files").handler(BodyHandler.create(System.getProperty("java.io.tmpdir") + "/agenthub-mock-uploads")
      .setBodyLimit(64 * 1024 * 1024).setDeleteUploadedFilesOnEnd(true)).handler(this::upload);
    router.post("/v1/batches").handler(BodyHandler.create(false)).handler(this::createBatch);
    router.get("/v1/batches/:id").handler(this::getBatch);
    router.get("/v1/files/:id/content").handler(this::fileContent);
    server = vertx.createHttpServer().requestHandler(router);
    return server.listen(port, host).map(HttpServer::actualPort);
  }

  public Future<Void> close() {
    return server == null ? Future.succeededFuture() : server.close();
  }

  public JsonObject stats() {
    JsonObject byKey = new JsonObject();
    keys.values().forEach(k -> byKey.put(k.name, new JsonObject().put("requests", k.count.get())
      .put("ok", k.ok.get()).put("rate_limited", k.limited.get()).put("rpm", k.rpm).put("tpm", k.tpm)));
    return new JsonObject().put("requests", requests.get()).put("ok", ok.get()).put("rate_limited", limited.get())
      .put("errors", errors.get()).put("batches", batchCount.get()).put("by_key", byKey);
  }

  private final Map<String, String> files = new java.util.concurrent.ConcurrentHashMap<>();
  private final Map<String, JsonObject> batches = new java.util.concurrent.ConcurrentHashMap<>();
  private final AtomicLong batchCount = new AtomicLong();

  private boolean authorized(RoutingContext ctx) {
    String auth = ctx.request().getHeader("Authorization");
    String secret = auth != null && auth.startsWith("Bearer ") ? auth.substring(7).trim() : null;
    if (!keys.isEmpty() && (secret == null || !keys.containsKey(secret))) {
      error(ctx.response(), 401, "invalid_api_key", "Incorrect API key provided");
      return false;
    }
    return true;
  }

  private void upload(RoutingContext ctx) {
    if (!authorized(ctx)) {
      return;
    }
    if (ctx.fileUploads().isEmpty()) {
      error(ctx.response(), 400, "invalid_request_error", "a file is required");
      return;
    }
    String content = vertx.fileSystem().readFileBlocking(ctx.fileUploads().get(0).uploadedFileName()).toString();
    String id = "file-" + java.util.UUID.randomUUID().toString().replace("-", "");
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
      error(ctx.response(), 404, "not_found", "no such file");
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
      int maxTokens = body.getInteger("max_tokens", 1024);
      SimProvider.Answer a = sim.complete(body.getString("model", "mock"), body.getJsonArray("messages"),
        body.getJsonArray("tools", new JsonArray()), maxTokens);
      output.append(new JsonObject().put("id", "batch_req_" + total).put("custom_id", req.getString("custom_id"))
        .put("response", new JsonObject().put("status_code", 200).put("body", completion(body.getString("model"), a)))
        .putNull("error").encode()).append('\n');
    }
    String outputId = "file-" + java.util.UUID.randomUUID().toString().replace("-", "");
    files.put(outputId, output.toString());
    String id = "batch_" + java.util.UUID.randomUUID().toString().replace("-", "");
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
      error(ctx.response(), 404, "not_found", "no such batch");
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
      error(ctx.response(), 404, "not_found", "no such file");
      return;
    }
    ctx.response().putHeader("Content-Type", "application/jsonl").end(content);
  }

  private void complete(RoutingContext ctx) {
    requests.incrementAndGet();
    String auth = ctx.request().getHeader("Authorization");
    String secret = auth != null && auth.startsWith("Bearer ") ? auth.substring(7).trim() : null;
    KeyState key = secret == null ? null : keys.get(secret);
    if (!keys.isEmpty() && key == null) {
      errors.incrementAndGet();
      error(ctx.response(), 401, "invalid_api_key", "Incorrect API key provided");
      return;
    }
    JsonObject body;
    try {
      body = ctx.body().asJsonObject();
    } catch (RuntimeException e) {
      errors.incrementAndGet();
      error(ctx.response(), 400, "invalid_request_error", "bad JSON");
      return;
    }
    JsonArray messages = body.getJsonArray("messages", new JsonArray());
    int maxTokens = body.getInteger("max_tokens", body.getInteger("max_completion_tokens", 1024));
    long input = 0;
    for (int i = 0; i < messages.size(); i++) {
      Object content = messages.getJsonObject(i).getValue("content");
      input += Tokens.estimate(content == null ? "" : content.toString()) + 4;
    }
    long now = System.nanoTime();
    if (key != null) {
      key.count.incrementAndGet();
      long reserve = input + maxTokens;
      // both limits must admit the call; check before taking from either
      long waitReq = key.requests.nanosUntil(1, now);
      long waitTok = key.tokens.nanosUntil(reserve, now);
      if (waitReq > 0 || waitTok > 0 || !key.requests.tryTake(1, now)) {
        key.limited.incrementAndGet();
        limited.incrementAndGet();
        long waitMs = Math.max(1, Math.max(waitReq, waitTok) / 1_000_000);
        HttpServerResponse r = ctx.response();
        rateHeaders(r, key, now);
        r.putHeader("Retry-After", String.valueOf(Math.max(1, (waitMs + 999) / 1000)));
        r.putHeader("retry-after-ms", String.valueOf(waitMs));
        error(r, 429, "rate_limit_exceeded", "Rate limit reached for requests");
        return;
      }
      key.tokens.tryTake(reserve, now);
    }
    if (errorRate > 0 && random.nextDouble() < errorRate) {
      errors.incrementAndGet();
      vertx.setTimer(Math.max(1, latencyMs), id -> error(ctx.response(), 500, "server_error", "The server had an error"));
      return;
    }
    String model = body.getString("model", "mock");
    SimProvider.Answer answer;
    try {
      answer = sim.complete(model, messages, body.getJsonArray("tools", new JsonArray()), maxTokens);
    } catch (SimProvider.Failure e) {
      errors.incrementAndGet();
      error(ctx.response(), 500, "server_error", e.getMessage());
      return;
    }
    Runnable respond = () -> {
      if (key != null) {
        // settle: give back the reserved output tokens that were not used
        key.tokens.refund(maxTokens - Math.min(maxTokens, answer.outputTokens()), System.nanoTime());
        key.ok.incrementAndGet();
        rateHeaders(ctx.response(), key, System.nanoTime());
      }
      ok.incrementAndGet();
      if (Boolean.TRUE.equals(body.getValue("stream"))) {
        stream(ctx.response(), model, answer);
      } else {
        ctx.response().putHeader("Content-Type", "application/json").end(completion(model, answer).encode());
      }
    };
    if (latencyMs > 0) {
      vertx.setTimer(latencyMs, id -> respond.run());
    } else {
      respond.run();
    }
  }

  private static void rateHeaders(HttpServerResponse r, KeyState key, long now) {
    r.putHeader("x-ratelimit-limit-requests", String.valueOf(key.rpm));
    r.putHeader("x-ratelimit-limit-tokens", String.valueOf(key.tpm));
    r.putHeader("x-ratelimit-remaining-requests", String.valueOf((long) Math.max(0, key.requests.available(now))));
    r.putHeader("x-ratelimit-remaining-tokens", String.valueOf((long) Math.max(0, key.tokens.available(now))));
    r.putHeader("x-ratelimit-reset-requests", (key.requests.nanosUntil(key.requests.capacity(), now) / 1_000_000) + "ms");
    r.putHeader("x-ratelimit-reset-tokens", (key.tokens.nanosUntil(key.tokens.capacity(), now) / 1_000_000) + "ms");
  }

  private static JsonObject message(SimProvider.Answer answer) {
    JsonObject message = new JsonObject().put("role", "assistant");
    if (answer.toolCalls().isEmpty()) {
      message.put("content", answer.content());
    } else {
      message.putNull("content").put("tool_calls", openAiCalls(answer.toolCalls()));
    }
    return message;
  }

  static JsonArray openAiCalls(JsonArray calls) {
    JsonArray out = new JsonArray();
    for (int i = 0; i < calls.size(); i++) {
      JsonObject c = calls.getJsonObject(i);
      Object args = c.getValue("arguments");
      out.add(new JsonObject().put("id", c.getString("id")).put("type", "function").put("function",
        new JsonObject().put("name", c.getString("name"))
          .put("arguments", args instanceof JsonObject o ? o.encode() : String.valueOf(args))));
    }
    return out;
  }

  private static JsonObject usage(SimProvider.Answer a) {
    return new JsonObject().put("prompt_tokens", a.inputTokens()).put("completion_tokens", a.outputTokens())
      .put("total_tokens", a.inputTokens() + a.outputTokens());
  }

  private static JsonObject completion(String model, SimProvider.Answer a) {
    return new JsonObject().put("id", "chatcmpl-mock-" + System.nanoTime()).put("object", "chat.completion")
      .put("created", System.currentTimeMillis() / 1000).put("model", model)
      .put("choices", new JsonArray().add(new JsonObject().put("index", 0).put("message", message(a))
        .put("finish_reason", a.toolCalls().isEmpty() ? "stop" : "tool_calls")))
      .put("usage", usage(a));
  }

  private static void stream(HttpServerResponse r, String model, SimProvider.Answer a) {
    r.setChunked(true).putHeader("Content-Type", "text/event-stream");
    String id = "chatcmpl-mock-" + System.nanoTime();
    JsonObject delta = a.toolCalls().isEmpty() ? new JsonObject().put("role", "assistant").put("content", a.content())
      : new JsonObject().put("role", "assistant").put("tool_calls", openAiCalls(a.toolCalls()));
    r.write("data: " + chunk(id, model, delta, null).encode() + "\n\n");
    r.write("data: " + chunk(id, model, new JsonObject(), a.toolCalls().isEmpty() ? "stop" : "tool_calls")
      .put("usage", usage(a)).encode() + "\n\n");
    r.end("data: [DONE]\n\n");
  }

  private static JsonObject chunk(String id, String model, JsonObject delta, String finish) {
    JsonObject choice = new JsonObject().put("index", 0).put("delta", delta);
    if (finish == null) {
      choice.putNull("finish_reason");
    } else {
      choice.put("finish_reason", finish);
    }
    return new JsonObject().put("id", id).put("object", "chat.completion.chunk")
      .put("created", System.currentTimeMillis() / 1000).put("model", model).put("choices", new JsonArray().add(choice));
  }

  private static void error(HttpServerResponse r, int status, String code, String message) {
    r.setStatusCode(status).putHeader("Content-Type", "application/json")
      .end(new JsonObject().put("error", new JsonObject().put("message", message).put("type", code).put("code", code))
        .encode());
  }

  /** A key's public name: the first 8 hex digits of its SHA-256. */
  public static String shortHash(String secret) {
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(secret.getBytes(StandardCharsets.UTF_8));
      return "key-" + HexFormat.of().formatHex(d, 0, 4);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
