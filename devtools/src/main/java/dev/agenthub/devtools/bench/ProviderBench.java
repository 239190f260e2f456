package dev.agenthub.devtools.bench;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.HdrHistogram.Histogram;

import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * {@code agenthub.jar bench provider}: the real provider path. The mock LLM runs as its own JVM (as
 * {@code scripts/mock-llm} would), one node as another, with an OpenAI-compatible provider pointing
 * at the mock (the agent in one instance; {@code AGENTHUB_BENCH_INSTANCES} sets more); the load comes from this JVM over HTTP/2 (a few connections carrying every session).
 * For each model latency and number of sessions (closed loops: each session sends its next message
 * once answered) it prints messages/s, p50/p99, failures, the most calls the mock saw in flight, the
 * node's CPU per message and its heap after a full GC; then time to first token of streamed chat
 * completions against the mock's own first byte. Asserts nothing.
 */
final class ProviderBench {

  private static final String SECRET = "sk-bench-provider-0123456789";
  private static final int INSTANCES = Integer.parseInt(System.getenv().getOrDefault("AGENTHUB_BENCH_INSTANCES", "1"));
  private static final String CONFIG = """
    node: { name: bench, roles: [general], http: { port: %d, request-timeout: 120s } }
    memory: { dir: %s, fsync: true }
    ledger: { dir: %s }
    audit: { dir: %s }
    providers:
      openai: { type: openai, base-url: "http://127.0.0.1:%d/v1", http2: %s, max-connections: %d, timeout: 120s,
                keys: [ { id: a, secret-env: AGENTHUB_BENCH_KEY, rpm: 10000000, tpm: 2000000000 } ] }
    models: { mini: { provider: openai, name: gpt-4o-mini, input: 0.15, output: 0.60, cached-input: 0.075 } }
    agents:
      - { id: support, instances: %d, models: { routine: mini }, cache: false,
          limits: { max-concurrent: 20000, max-queue: 100000, turn-timeout: 120s } }
    """;

  private ProviderBench() {
  }

  /** One row: model latency, sessions, protocol to the provider and its connections. */
  private record Case(int latencyMs, int sessions, String http2, int maxConnections) {
  }

  static void run(PrintStream out, int messagesPerSession) throws Exception {
    out.printf("scenario provider: OpenAI-compatible provider (the mock, its own JVM) on loopback, one node, "
      + "client over HTTP/2, %d cores%n", Runtime.getRuntime().availableProcessors());
    out.printf("  %-44s %9s %9s %9s %7s %10s %9s %10s %9s %9s%n", "case", "msgs/s", "p50 ms", "p99 ms", "failed",
      "in flight", "CPU ms", "heap MiB", "mock ms", "client ms");
    out.println("  (CPU ms: the node's CPU per message; mock ms and client ms: the same for the mock's JVM and this one)");
    List<Case> cases = List.of(new Case(1000, 2000, "off", 1000), new Case(1000, 2000, "on", 1000),
      new Case(1000, 10_000, "on", 1000), new Case(10_000, 2000, "on", 1000), new Case(10_000, 10_000, "on", 1000));
    String only = System.getenv("AGENTHUB_BENCH_CASES"); // the first N cases only (profiling)
    int limit = only == null ? cases.size() : Math.min(cases.size(), Integer.parseInt(only.trim()));
    String one = System.getenv("AGENTHUB_BENCH_CASE"); // one case by its row number, 1-based
    List<Case> run = one == null ? cases.subList(0, limit) : List.of(cases.get(Integer.parseInt(one.trim()) - 1));
    for (Case c : run) {
      row(out, c, messagesPerSession);
    }
    if ((limit == cases.size() || limit == 0) && one == null) { // AGENTHUB_BENCH_CASES=0: streaming only
      streaming(out);
    }
  }

  private static void row(PrintStream out, Case c, int perSession) throws Exception {
    Path dir = Files.createTempDirectory("agenthub-bench-provider");
    List<Process> procs = new ArrayList<>();
    try {
      int mockPort = MessageBench.freePort();
      Process mock = mock(dir, mockPort, c.latencyMs());
      procs.add(mock);
      waitMock(mockPort);
      int port = MessageBench.freePort();
      Process node = node(dir, port, mockPort, c.http2(), c.maxConnections());
      procs.add(node);
      MessageBench.waitReady(port, 1);
      // warm up: the JIT needs a minute or two of full load on two busy cores before the figures settle
      warmUp(port, c.sessions(), WARM_UP_NANOS);
      MessageBench.FAILURES.clear();
      long cpu0 = MessageBench.cpu(node).toNanos();
      long mock0 = MessageBench.cpu(mock).toNanos();
      long self0 = ProcessHandle.current().info().totalCpuDuration().orElse(Duration.ZERO).toNanos();
      Histogram h = new Histogram(TimeUnit.MINUTES.toNanos(5), 3);
      int n = c.sessions() * perSession;
      long t0 = System.nanoTime();
      int failed = load(port, n, c.sessions(), h);
      double seconds = (System.nanoTime() - t0) / 1e9;
      long cpu1 = MessageBench.cpu(node).toNanos();
      long mock1 = MessageBench.cpu(mock).toNanos();
      long self1 = ProcessHandle.current().info().totalCpuDuration().orElse(Duration.ZERO).toNanos();
      JsonObject stats = mockStats(mockPort);
      long heap = MessageBench.heapAfterGc(node, port);
      String label = String.format("%5.0f s latency, %,6d sessions, %s", c.latencyMs() / 1000.0, c.sessions(),
        c.http2().equals("on") ? "HTTP/2" : "HTTP/1.1, " + c.maxConnections() + " conns");
      out.printf("  %-44s %,9.0f %9.1f %9.1f %7d %,10d %9.3f %10.1f %9.3f %9.3f%n", label, n / seconds,
        h.getValueAtPercentile(50) / 1e6, h.getValueAtPercentile(99) / 1e6, failed, stats.getLong("max_in_flight"),
        (cpu1 - cpu0) / 1e6 / n, heap / 1048576.0, (mock1 - mock0) / 1e6 / n, (self1 - self0) / 1e6 / n);
      MessageBench.printFailures(out);
    } finally {
      MessageBench.stop(procs);
    }
  }

  /** Time to first token of streamed chat completions, client side, against the mock's first byte. */
  private static void streaming(PrintStream out) throws Exception {
    Path dir = Files.createTempDirectory("agenthub-bench-stream");
    List<Process> procs = new ArrayList<>();
    try {
      int mockPort = MessageBench.freePort();
      procs.add(mock(dir, mockPort, 1000));
      waitMock(mockPort);
      int port = MessageBench.freePort();
      procs.add(node(dir, port, mockPort, "on", 1000));
      MessageBench.waitReady(port, 1);
      Vertx vertx = Vertx.vertx();
      try {
        HttpClientAgent client = client(vertx, port);
        Histogram ttft = new Histogram(TimeUnit.MINUTES.toNanos(1), 3);
        Histogram total = new Histogram(TimeUnit.MINUTES.toNanos(1), 3);
        // warm up as the other rows do, then measure; the mock's mean first byte is taken over the
        // measured rounds only
        long end = System.nanoTime() + WARM_UP_NANOS;
        int round = 0;
        while (System.nanoTime() < end) {
          streamRound(client, "w-" + round++, ttft, total);
        }
        JsonObject before = mockStats(mockPort);
        ttft.reset();
        total.reset();
        for (int r = 0; r < 5; r++) {
          streamRound(client, "m-" + r, ttft, total);
        }
        JsonObject after = mockStats(mockPort);
        long streams = after.getLong("streams") - before.getLong("streams");
        double mockFirst = (after.getDouble("first_byte_ms_avg") * after.getLong("streams")
          - before.getDouble("first_byte_ms_avg") * before.getLong("streams")) / Math.max(1, streams);
        out.printf("  streaming, 1 s latency, 200 concurrent: first token at the client p50 %.1f ms, p99 %.1f ms; "
            + "the mock's own first byte %.1f ms after the request (mean); whole answer p50 %.1f ms%n",
          ttft.getValueAtPercentile(50) / 1e6, ttft.getValueAtPercentile(99) / 1e6, mockFirst,
          total.getValueAtPercentile(50) / 1e6);
        client.close().await(10, TimeUnit.SECONDS);
      } finally {
        vertx.close().await(30, TimeUnit.SECONDS);
      }
    } finally {
      MessageBench.stop(procs);
    }
  }

  /** 200 streamed chat completions at once, each in a session of its own. */
  private static void streamRound(HttpClientAgent client, String round, Histogram ttft, Histogram total)
    throws Exception {
    List<Future<Void>> all = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      all.add(streamOne(client, "s-" + round + "-" + i, ttft, total));
    }
    Future.join(all).await(5, TimeUnit.MINUTES);
  }

  private static Future<Void> streamOne(HttpClientAgent client, String user, Histogram ttft, Histogram total) {
    Buffer body = new JsonObject().put("model", "support").put("user", user).put("stream", true)
      .put("messages", new JsonArray().add(new JsonObject().put("role", "user")
        .put("content", "Tell me about my parcel and when it arrives"))).toBuffer();
    long t0 = System.nanoTime();
    boolean[] first = {false};
    return client.request(new RequestOptions().setMethod(HttpMethod.POST).setURI("/v1/chat/completions")
        .putHeader("Content-Type", "application/json"))
      .compose(req -> req.send(body))
      .compose(resp -> {
        Promise<Void> done = Promise.promise();
        resp.handler(buf -> {
          if (!first[0] && buf.toString().contains("\"content\"")) {
            first[0] = true;
            synchronized (ttft) {
              ttft.recordValue(System.nanoTime() - t0);
            }
          }
        });
        resp.endHandler(v -> {
          synchronized (total) {
            total.recordValue(System.nanoTime() - t0);
          }
          done.complete();
        });
        resp.exceptionHandler(done::tryFail);
        return done.future();
      });
  }

  private static HttpClientAgent client(Vertx vertx, int port) {
    return vertx.createHttpClient(new HttpClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(port)
        .setProtocolVersion(HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false).setHttp2MultiplexingLimit(1000),
      new PoolOptions().setHttp2MaxSize(20).setMaxWaitQueueSize(-1));
  }

  private static final long WARM_UP_NANOS = TimeUnit.SECONDS.toNanos(
    Long.parseLong(System.getenv().getOrDefault("AGENTHUB_BENCH_WARMUP_S", "90")));

  /** Full load for at least {@code nanos}, in whole rounds of every session. */
  private static void warmUp(int port, int sessions, long nanos) throws Exception {
    long end = System.nanoTime() + nanos;
    do {
      load(port, sessions, sessions, new Histogram(3));
    } while (System.nanoTime() < end);
  }

  /** {@code n} messages over {@code sessions} closed loops; returns how many failed. */
  private static int load(int port, int n, int sessions, Histogram h) throws Exception {
    Vertx vertx = Vertx.vertx();
    try {
      HttpClientAgent client = client(vertx, port);
      AtomicInteger remaining = new AtomicInteger(n);
      AtomicInteger failed = new AtomicInteger();
      List<Future<Void>> loops = new ArrayList<>();
      String run = UUID.randomUUID().toString().substring(0, 8);
      for (int s = 0; s < sessions; s++) {
        Promise<Void> done = Promise.promise();
        Buffer body = new JsonObject().put("session", "b-" + run + "-" + s).put("text", "Where is my parcel number " + s
          + "? It was due on Monday.").toBuffer();
        MessageBench.loop(client, "/v1/agents/support/messages", body, remaining, failed, h, done);
        loops.add(done.future());
      }
      Future.all(loops).await(30, TimeUnit.MINUTES);
      client.close().await(10, TimeUnit.SECONDS);
      return failed.get();
    } finally {
      vertx.close().await(30, TimeUnit.SECONDS);
    }
  }

  private static Process mock(Path dir, int port, int latencyMs) throws IOException {
    return new ProcessBuilder(java(), "-Xmx1g", "-jar", jar(), "mock-llm", "--port", String.valueOf(port),
      "--latency-ms", String.valueOf(latencyMs), "--key", SECRET + ":10000000:2000000000")
      .redirectErrorStream(true).redirectOutput(dir.resolve("mock.log").toFile()).start();
  }

  private static Process node(Path dir, int port, int mockPort, String http2, int maxConnections) throws IOException {
    Path conf = dir.resolve("node.yaml");
    Files.writeString(conf, CONFIG.formatted(port, dir.resolve("memory"), dir.resolve("ledger"), dir.resolve("audit"),
      mockPort, http2, maxConnections, INSTANCES));
    List<String> command = new ArrayList<>(List.of(java(), "-Xmx1g"));
    String extra = System.getenv("AGENTHUB_BENCH_NODE_OPTS"); // e.g. a profiler: -XX:StartFlightRecording=...
    if (extra != null && !extra.isBlank()) {
      command.addAll(List.of(extra.trim().split("\\s+")));
    }
    command.addAll(List.of("-jar", MessageBench.hubJar(), "run", "--conf", conf.toString()));
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
      .redirectOutput(dir.resolve("node.log").toFile());
    pb.environment().keySet().removeIf(k -> k.startsWith("AGENTHUB_"));
    pb.environment().put("AGENTHUB_BENCH_KEY", SECRET);
    return pb.start();
  }

  private static void waitMock(int port) throws Exception {
    long end = System.nanoTime() + TimeUnit.MINUTES.toNanos(1);
    while (System.nanoTime() < end) {
      try {
        mockStats(port);
        return;
      } catch (IOException e) {
        Thread.sleep(200);
      }
    }
    throw new IllegalStateException("the mock LLM on port " + port + " did not start");
  }

  private static JsonObject mockStats(int port) throws Exception {
    HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    return new JsonObject(http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/stats"))
      .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString()).body());
  }

  private static String java() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  /** The tools jar (the mock LLM runs from it). */
  private static String jar() {
    return Path.of(ProviderBench.class.getProtectionDomain().getCodeSource().getLocation().getPath()).toString();
  }
}
