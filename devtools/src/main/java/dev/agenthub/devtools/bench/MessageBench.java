package dev.agenthub.devtools.bench;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import org.HdrHistogram.Histogram;

import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntFunction;

/**
 * {@code agenthub.jar bench [messages|memory|all] [--messages N] [--concurrency C]}: nodes started as
 * separate JVMs from this jar, the load generated from this JVM over HTTP, closed loops. Prints
 * throughput and latency percentiles; asserts nothing.
 * <ul>
 *   <li>{@code messages}: N messages over C sessions, sim latency 0; on one node, then across two
 *   (client on node 1, agent on node 2).</li>
 *   <li>{@code memory}: N durable appends (fsync on) from C writers to 8 shared files; on one node,
 *   then through the cluster (client on node 1, memory writer on node 2); then through three nodes with
 *   {@code memory.replicas} 1, 2 and 3, and a writer SIGKILLed under load ({@link MemoryBench}).</li>
 * </ul>
 */
public final class MessageBench {

  private static final String CONFIG = """
    node: { name: bench, roles: [%s], http: { port: 8080, request-timeout: 60s } }
    cluster: { name: %s, host: 127.0.0.1, port: %d, members: ["127.0.0.1:%d-%d"] }
    memory: { dir: %s, fsync: true }
    ledger: { dir: %s }
    audit: { dir: %s }
    providers: { sim: { type: sim, latency-ms: %d } }
    models: { sim-small: { provider: sim, input: 0.15, output: 0.60 } }
    agents:
      - { id: support, roles: [general], models: { routine: sim-small },
          limits: { max-concurrent: 10000, max-queue: 100000 } }
    """;

  // the product jar the nodes run from (the benches themselves live in the tools jar)
  private static Path hubJar = Path.of("hub", "target", "agenthub.jar").toAbsolutePath();

  private MessageBench() {
  }

  /** The product jar nodes are started from; a clear error when it is not built. */
  static String hubJar() {
    if (!Files.isRegularFile(hubJar)) {
      throw new IllegalStateException("no product jar at " + hubJar + ": build it (scripts/hub builds it) or pass "
        + "--hub-jar");
    }
    return hubJar.toString();
  }

  public static int run(String[] args, PrintStream out) throws Exception {
    int messages = 50_000;
    int concurrency = 64;
    String scenario = "all";
    int perSession = 3;
    int replicas = 0;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--messages" -> messages = Integer.parseInt(args[++i]);
        case "--concurrency" -> concurrency = Integer.parseInt(args[++i]);
        case "messages", "memory", "sessions", "governor", "provider", "eventbus", "telemetry", "tools", "channels",
             "all" ->
          scenario = args[i];
        case "--per-session" -> perSession = Integer.parseInt(args[++i]);
        case "--replicas" -> replicas = Integer.parseInt(args[++i]);
        case "--hub-jar" -> hubJar = Path.of(args[++i]).toAbsolutePath();
        default -> {
          out.println("usage: bench [messages|memory|sessions|governor|provider|eventbus|telemetry|tools|channels|all] [--messages N]"
            + " [--concurrency C]"
            + " [--per-session N] [--replicas N (memory: only the three-node rows with N replicas)]");
          return 2;
        }
      }
    }
    if (scenario.equals("messages") || scenario.equals("all")) {
      out.printf("scenario messages: %,d messages, %d concurrent sessions, sim latency 0, %d cores%n",
        messages, concurrency, Runtime.getRuntime().availableProcessors());
      scenario(out, "/v1/agents/support/messages", messages, concurrency, "agent",
        c -> new JsonObject().put("session", "bench-" + c).put("text", "How do I reset my password?"));
    }
    if (scenario.equals("telemetry") || scenario.equals("all")) {
      telemetry(out, messages, concurrency);
    }
    if (scenario.equals("channels") || scenario.equals("all")) {
      ChannelsBench.run(out, Math.min(messages, 20_000), concurrency);
    }
    if (scenario.equals("tools") || scenario.equals("all")) {
      ToolsBench.run(out, Math.min(messages, 10_000));
    }
    if (scenario.equals("eventbus") || scenario.equals("all")) {
      EventBusBench.run(out, messages, concurrency);
    }
    if (scenario.equals("sessions") || scenario.equals("all")) {
      sessions(out, 2_000, 10_000);
    }
    if (scenario.equals("provider") || scenario.equals("all")) {
      ProviderBench.run(out, perSession);
    }
    if (scenario.equals("governor") || scenario.equals("all")) {
      GovernorBench.run(out, 30);
    }
    if (scenario.equals("memory") || scenario.equals("all")) {
      int appends = Math.min(messages, 20_000);
      if (replicas == 0) {
        out.printf("scenario memory: %,d durable appends (fsync on), %d concurrent writers, 8 files, %d cores%n",
          appends, concurrency, Runtime.getRuntime().availableProcessors());
        scenario(out, "/v1/memory/shared/bench-%d.md", appends, concurrency, "memory writer",
          c -> new JsonObject().put("author", "bench").put("text", "note from writer " + c + ": the build is green"));
      }
      MemoryBench.run(out, appends, concurrency, replicas);
    }
    return 0;
  }

  /**
   * The cost of operators' telemetry: the messages scenario on one node with tracing off and text
   * logs, with tracing at its default sampling and JSON logs, and with every trace recorded (spans
   * exported over OTLP/HTTP to a sink in this JVM); three rounds, alternating, so drift of the
   * machine falls on all three; medians compared.
   */
  private static void telemetry(PrintStream out, int n, int concurrency) throws Exception {
    out.printf("scenario telemetry: %,d messages, %d concurrent sessions, sim latency 0, one node, %d cores%n",
      n, concurrency, Runtime.getRuntime().availableProcessors());
    com.sun.net.httpserver.HttpServer sink = com.sun.net.httpserver.HttpServer.create(
      new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64);
    AtomicLong exported = new AtomicLong();
    sink.createContext("/v1/traces", exchange -> {
      exported.addAndGet(exchange.getRequestBody().readAllBytes().length);
      exchange.sendResponseHeaders(200, -1);
      exchange.close();
    });
    sink.start();
    // every trace recorded and exported: the dearest setting (the default records a tenth of new traces)
    String on = "telemetry: { otlp-endpoint: \"http://127.0.0.1:" + sink.getAddress().getPort() + "\", sample-ratio: 1 }\n";
    try {
      int rounds = 3;
      String[] labels = {"  tracing off, text logs", "  tracing on (OTLP, default sampling 10%), JSON logs",
        "  tracing on (OTLP, every trace recorded), JSON logs"};
      String[] extras = {"", on.replace(", sample-ratio: 1", ""), on};
      String[] formats = {"text", "json", "json"};
      double[][] rate = new double[3][rounds];
      double[][] cpu = new double[3][rounds];
      for (int round = 0; round < rounds; round++) {
        for (int c = 0; c < 3; c++) {
          rate[c][round] = telemetryRun(out, labels[c], n, concurrency, extras[c],
            Map.of("AGENTHUB_LOG_FORMAT", formats[c]), cpu[c], round);
        }
      }
      double baseRate = median(rate[0]);
      double baseCpu = median(cpu[0]);
      out.printf("  medians over %d rounds (%,d bytes of spans exported in all):%n", rounds, exported.get());
      for (int c = 0; c < 3; c++) {
        out.printf("  %-52s %,7.0f msgs/s (%+5.1f%%)   node CPU %.3f ms/msg (%+5.1f%%)%n", labels[c].strip(),
          median(rate[c]), (median(rate[c]) - baseRate) / baseRate * 100, median(cpu[c]),
          (median(cpu[c]) - baseCpu) / baseCpu * 100);
      }
    } finally {
      sink.stop(0);
    }
  }

  private static double median(double[] values) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    return sorted[sorted.length / 2];
  }

  /** One run on a fresh node: its messages per second, and its node CPU per message into {@code cpu[round]}. */
  private static double telemetryRun(PrintStream out, String label, int n, int concurrency, String extra,
                                     Map<String, String> env, double[] cpu, int round) throws Exception {
    Path dir = Files.createTempDirectory("agenthub-bench");
    List<Process> nodes = new ArrayList<>();
    try {
      int port = freePort();
      nodes.add(startNode(dir, "single", "general", false, "bench-" + UUID.randomUUID(), 21_000, port,
        dir.resolve("memory"), 0, extra, env));
      waitReady(port, 1);
      Duration cpu0 = cpu(nodes.get(0));
      double rate = measure(out, label, port, n, concurrency, "/v1/agents/support/messages",
        c -> new JsonObject().put("session", "bench-" + c).put("text", "How do I reset my password?"));
      long warm = Math.min(n / 5, 10_000);
      cpu[round] = (cpu(nodes.get(0)).toNanos() - cpu0.toNanos()) / 1e6 / (n + warm);
      out.printf("    node CPU %.3f ms per message (warm-up included)%n", cpu[round]);
      return rate;
    } finally {
      stop(nodes);
    }
  }

  /**
   * Many concurrent sessions at 1 s model latency on one node, then the heap those sessions hold
   * (measured after a full GC, through {@code jcmd}, before and after they exist).
   */
  private static void sessions(PrintStream out, int sessions, int n) throws Exception {
    out.printf("scenario sessions: %,d concurrent sessions, %,d messages, sim latency 1000 ms, one node%n", sessions, n);
    Path dir = Files.createTempDirectory("agenthub-bench");
    List<Process> nodes = new ArrayList<>();
    try {
      int port = freePort();
      Process node = startNode(dir, "single", "general", false, "bench-" + UUID.randomUUID(), 21_000, port,
        dir.resolve("memory"), 1000);
      nodes.add(node);
      waitReady(port, 1);
      long before = heapAfterGc(node, port);
      measure(out, "  one node", port, n, sessions, "/v1/agents/support/messages",
        c -> new JsonObject().put("session", "s-" + c).put("text", "Is my parcel on its way?"));
      long after = heapAfterGc(node, port);
      out.printf("  heap after a full GC: %.1f MiB with no session, %.1f MiB with %,d sessions in RAM: %.2f MiB per 1,000%n",
        before / 1048576.0, after / 1048576.0, sessions, (after - before) / 1048576.0 / (sessions / 1000.0));
    } finally {
      stop(nodes);
    }
  }

  static Duration cpu(Process node) {
    return node.toHandle().info().totalCpuDuration().orElse(Duration.ZERO);
  }

  private static long size(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return 0;
    }
    try (var files = Files.walk(dir)) {
      return files.filter(Files::isRegularFile).filter(f -> f.toString().endsWith(".md")).mapToLong(f -> {
        try {
          return Files.size(f);
        } catch (IOException e) {
          return 0;
        }
      }).sum();
    }
  }

  static long heapAfterGc(Process node, int port) throws Exception {
    Process gc = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
      String.valueOf(node.pid()), "GC.run").redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
      .start();
    gc.waitFor(60, TimeUnit.SECONDS);
    HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    String metrics = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics")).build(),
      HttpResponse.BodyHandlers.ofString()).body();
    long heap = 0;
    for (String line : metrics.split("\n")) {
      if (line.startsWith("jvm_memory_used_bytes{area=\"heap\"")) {
        heap += (long) Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    return heap;
  }

  /** Runs one load on one node, then through a second node. {@code path} may hold %d (the loop % 8). */
  private static void scenario(PrintStream out, String path, int n, int concurrency, String what,
                               IntFunction<JsonObject> body) throws Exception {
    Path dir = Files.createTempDirectory("agenthub-bench");
    int base = 21_000 + (int) (Math.random() * 200) * 50;
    String cluster = "bench-" + UUID.randomUUID();
    List<Process> nodes = new ArrayList<>();
    long warm = Math.min(n / 5, 10_000); // the warm-up measure() runs first
    try {
      int p1 = freePort();
      nodes.add(startNode(dir, "single", "general", false, cluster, base, p1, dir.resolve("memory-single"), 0));
      waitReady(p1, 1);
      Duration cpu0 = cpu(nodes.get(0));
      measure(out, "  one node", p1, n, concurrency, path, body);
      Duration cpu1 = cpu(nodes.get(0));
      out.printf("  node CPU: %.3f ms per call (warm-up included); memory dir after the run: %,d bytes%n",
        (cpu1.toNanos() - cpu0.toNanos()) / 1e6 / (n + warm), size(dir.resolve("memory-single")));
      stop(nodes);

      // the back node starts first: it becomes the memory writer and runs the agents
      int front = freePort();
      int back = freePort();
      Path shared = dir.resolve("memory-cluster");
      nodes.add(startNode(dir, "back", "general", true, cluster, base, back, shared, 0));
      waitReady(back, 1);
      nodes.add(startNode(dir, "front", "edge", true, cluster, base, front, shared, 0));
      waitReady(front, 2);
      waitReady(back, 2);
      Duration front0 = cpu(nodes.get(1));
      Duration back0 = cpu(nodes.get(0));
      measure(out, "  two nodes (client -> node 1, " + what + " on node 2)", front, n, concurrency, path, body);
      // per node, so that a change on one side of the wire shows where it falls
      double frontMs = (cpu(nodes.get(1)).toNanos() - front0.toNanos()) / 1e6 / (n + warm);
      double backMs = (cpu(nodes.get(0)).toNanos() - back0.toNanos()) / 1e6 / (n + warm);
      out.printf("  nodes' CPU: %.3f ms per call (node 1 %.3f, node 2 %.3f; warm-up included)%n",
        frontMs + backMs, frontMs, backMs);
    } finally {
      stop(nodes);
    }
  }

  /** Prints one row; returns its messages per second. */
  static double measure(PrintStream out, String label, int port, int messages, int concurrency, String path,
                              IntFunction<JsonObject> body) throws Exception {
    Vertx vertx = Vertx.vertx();
    try {
      HttpClientAgent client = vertx.createHttpClient(
        new HttpClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(port).setKeepAlive(true),
        new PoolOptions().setHttp1MaxSize(concurrency));
      int warmup = Math.min(messages / 5, 10_000);
      drive(client, warmup, concurrency, new Histogram(3), path, body);
      Histogram histogram = new Histogram(TimeUnit.MINUTES.toNanos(1), 3);
      long started = System.nanoTime();
      int failed = drive(client, messages, concurrency, histogram, path, body);
      double seconds = (System.nanoTime() - started) / 1e9;
      out.printf("%-56s %,9.0f /s   p50 %6.2f ms   p99 %6.2f ms   p99.9 %6.2f ms   max %6.2f ms   failed %d%n",
        label, messages / seconds, ms(histogram.getValueAtPercentile(50)), ms(histogram.getValueAtPercentile(99)),
        ms(histogram.getValueAtPercentile(99.9)), ms(histogram.getMaxValue()), failed);
      client.close().await(10, TimeUnit.SECONDS);
      return messages / seconds;
    } finally {
      vertx.close().await(30, TimeUnit.SECONDS);
    }
  }

  /** C closed loops, one per session: each sends its next message once the previous one is answered. */
  private static int drive(HttpClientAgent client, int messages, int concurrency, Histogram histogram, String path,
                           IntFunction<JsonObject> body) throws Exception {
    AtomicInteger remaining = new AtomicInteger(messages);
    AtomicInteger failed = new AtomicInteger();
    List<Future<Void>> loops = new ArrayList<>();
    for (int c = 0; c < concurrency; c++) {
      Promise<Void> done = Promise.promise();
      loop(client, path.formatted(c % 8), body.apply(c).toBuffer(), remaining, failed, histogram, done);
      loops.add(done.future());
    }
    Future.all(loops).await(30, TimeUnit.MINUTES);
    return failed.get();
  }

  /** Why messages failed, by reason, the first of each kind kept in full (printed after a row). */
  static final ConcurrentHashMap<String, AtomicInteger> FAILURES =
    new ConcurrentHashMap<>();

  static void noteFailure(String reason) {
    String kind = reason.length() > 160 ? reason.substring(0, 160) : reason;
    FAILURES.computeIfAbsent(kind, k -> new AtomicInteger()).incrementAndGet();
  }

  /** Prints and forgets the failure reasons seen since the last call. */
  static void printFailures(PrintStream out) {
    FAILURES.entrySet().stream().sorted((a, b) -> b.getValue().get() - a.getValue().get()).limit(5)
      .forEach(e -> out.printf("    failed %,d x: %s%n", e.getValue().get(), e.getKey()));
    FAILURES.clear();
  }

  static void loop(HttpClientAgent client, String uri, Buffer body, AtomicInteger remaining,
                           AtomicInteger failed, Histogram histogram, Promise<Void> done) {
    if (remaining.getAndDecrement() <= 0) {
      done.complete();
      return;
    }
    long t0 = System.nanoTime();
    client.request(new RequestOptions().setMethod(HttpMethod.POST).setURI(uri))
      .compose(req -> req.send(body))
      .compose(resp -> resp.body().map(b -> {
        if (resp.statusCode() != 200) {
          noteFailure(resp.statusCode() + " " + b.toString());
        }
        return resp.statusCode();
      }))
      .onComplete(ar -> {
        long nanos = System.nanoTime() - t0;
        if (ar.succeeded() && ar.result() == 200) {
          synchronized (histogram) {
            histogram.recordValue(Math.min(nanos, histogram.getHighestTrackableValue()));
          }
        } else {
          if (ar.failed()) {
            noteFailure(String.valueOf(ar.cause()));
          }
          failed.incrementAndGet();
        }
        loop(client, uri, body, remaining, failed, histogram, done);
      });
  }

  /** The secret of every cluster the benches start (one per bench run). */
  static final String CLUSTER_SECRET = "bench-cluster-" + UUID.randomUUID();

  static Process startNode(Path dir, String name, String roles, boolean clustered, String cluster, int base,
                                   int port, Path memory, int latencyMs) throws IOException {
    return startNode(dir, name, roles, clustered, cluster, base, port, memory, latencyMs, "", Map.of());
  }

  /** {@code extra}: YAML appended to the node's config; {@code env}: added to its environment. */
  static Process startNode(Path dir, String name, String roles, boolean clustered, String cluster, int base,
                                   int port, Path memory, int latencyMs, String extra, Map<String, String> env)
    throws IOException {
    Path conf = dir.resolve(name + ".yaml");
    // the run's own ledger and audit: a node rebuilds the month from every journal in ledger.dir, and
    // the default data/ledger would hold every earlier run's (read while this one is measured)
    Files.writeString(conf, CONFIG.formatted(roles, cluster, base, base, base + 2, memory, dir.resolve("ledger"),
      dir.resolve("audit"), latencyMs) + extra);
    String jar = hubJar();
    List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
      "-Xmx1g", "-jar", jar, "run", "--conf", conf.toString(), "--node", name, "--http-port", String.valueOf(port)));
    if (clustered) {
      command.add("--cluster");
    }
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
      .redirectOutput(dir.resolve(name + ".log").toFile());
    pb.environment().keySet().removeIf(k -> k.startsWith("AGENTHUB_"));
    pb.environment().put("AGENTHUB_CLUSTER_SECRET", CLUSTER_SECRET);
    pb.environment().putAll(env);
    return pb.start();
  }

  static void waitReady(int port, int nodes) throws Exception {
    HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    long end = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
    while (System.nanoTime() < end) {
      try {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/cluster"))
          .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() == 200 && new JsonObject(r.body()).getJsonArray("nodes").size() == nodes) {
          return;
        }
      } catch (IOException e) {
        // not up yet
      }
      Thread.sleep(200);
    }
    throw new IllegalStateException("node on port " + port + " did not become ready");
  }

  static void stop(List<Process> nodes) throws InterruptedException {
    for (Process p : nodes) {
      p.destroy();
    }
    for (Process p : nodes) {
      if (!p.waitFor(60, TimeUnit.SECONDS)) {
        p.destroyForcibly();
      }
    }
    nodes.clear();
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      return s.getLocalPort();
    }
  }

  static double ms(long nanos) {
    return nanos / 1e6;
  }
}
