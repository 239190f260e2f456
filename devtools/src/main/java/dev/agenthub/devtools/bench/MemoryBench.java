package dev.agenthub.devtools.bench;

import dev.agenthub.memory.MemoryClient;
import dev.agenthub.memory.MemoryPolicy;
import dev.agenthub.protocol.MessageAuth;

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
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code bench memory}, replicated: three nodes as separate JVMs, durable appends (fsync on) sent
 * through all three, with {@code memory.replicas} 1 (one directory the three share, as on shared
 * storage), 2 and 3 (each node its own directory); then, with 3 replicas, the writer is SIGKILLed in
 * the middle of the load: the time from the kill to the first append acknowledged after it, and
 * whether every acknowledged entry is on both survivors. Prints figures; asserts nothing.
 */
final class MemoryBench {

  private static final String SECRET = MessageBench.CLUSTER_SECRET;
  private static final Pattern ENTRY = Pattern.compile("(?m)^(b\\d+-\\d+)$");

  private MemoryBench() {
  }

  /** @param only one {@code memory.replicas} value to measure (no kill), or 0 for 1, 2, 3 and the kill */
  static void run(PrintStream out, int appends, int concurrency, int only) throws Exception {
    out.printf("scenario memory (replicated): %,d durable appends (fsync on) through 3 nodes, %d concurrent writers,"
      + " 8 files, %d cores%n", appends, concurrency, Runtime.getRuntime().availableProcessors());
    for (int replicas = only == 0 ? 1 : only; replicas <= (only == 0 ? 3 : only); replicas++) {
      Path dir = Files.createTempDirectory("agenthub-bench");
      List<Process> nodes = new ArrayList<>();
      String cluster = "bench-" + UUID.randomUUID();
      int base = 22_000 + (int) (Math.random() * 400) * 20;
      String what = "replicas " + replicas + (replicas == 1 ? " (one shared directory)" : " (a directory per node)");
      try {
        int[] ports = start(dir, nodes, replicas, cluster, base);
        Load http = new Load(ports, concurrency);
        row(out, what + ", HTTP", http, appends);
        http.close();
        Load bus = new Load(EventBusBench.liteMember(cluster, base), concurrency);
        row(out, what + ", event bus", bus, appends);
        bus.close();
      } finally {
        MessageBench.stop(nodes);
      }
    }
    if (only == 0) {
      kill(out, concurrency);
    }
  }

  private static void row(PrintStream out, String label, Load load, int appends) throws Exception {
    load.run(Math.min(appends / 5, 5_000), null);
    Histogram h = new Histogram(TimeUnit.MINUTES.toNanos(1), 3);
    long t0 = System.nanoTime();
    int failed = load.run(appends, h);
    double seconds = (System.nanoTime() - t0) / 1e9;
    out.printf("  %-56s %,7.0f /s   p50 %6.2f ms   p99 %6.2f ms   max %7.2f ms   failed %d%n", label,
      appends / seconds, MessageBench.ms(h.getValueAtPercentile(50)), MessageBench.ms(h.getValueAtPercentile(99)),
      MessageBench.ms(h.getMaxValue()), failed);
    MessageBench.printFailures(out);
  }

  /** Starts three nodes on {@code replicas}; answers their HTTP ports once a writer serves. */
  private static int[] start(Path dir, List<Process> nodes, int replicas, String cluster, int base) throws Exception {
    int[] ports = new int[3];
    for (int i = 0; i < 3; i++) {
      ports[i] = MessageBench.freePort();
      Path memory = replicas == 1 ? dir.resolve("memory") : dir.resolve("memory-n" + (i + 1));
      nodes.add(MessageBench.startNode(dir, "n" + (i + 1), "general", true, cluster, base, ports[i], memory, 0,
        "", Map.of("AGENTHUB_MEMORY_REPLICAS", String.valueOf(replicas), "AGENTHUB_CLUSTER_SECRET", SECRET)));
    }
    for (int port : ports) {
      MessageBench.waitReady(port, 3);
    }
    long end = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
    while (System.nanoTime() < end && following(ports[0]) < replicas - 1) {
      Thread.sleep(200);
    }
    return ports;
  }

  /** {@code /v1/cluster}: the memory writer's view. */
  private static JsonObject memory(int port) {
    try {
      HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
        + port + "/v1/cluster")).timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
      return new JsonObject(r.body()).getJsonObject("memory", new JsonObject());
    } catch (Exception e) {
      return new JsonObject();
    }
  }

  private static long following(int port) {
    var replicas = memory(port).getJsonArray("replicas");
    if (memory(port).getString("writer") == null) {
      return -1;
    }
    return replicas == null ? 0 : replicas.stream().filter(r -> ((JsonObject) r).getString("state").equals("following"))
      .count();
  }

  /**
   * Three nodes with 3 replicas under load; the writer's JVM SIGKILLed: how long until an append is
   * acknowledged again, and whether both survivors hold every entry acknowledged before or after.
   */
  private static void kill(PrintStream out, int concurrency) throws Exception {
    Path dir = Files.createTempDirectory("agenthub-bench");
    List<Process> nodes = new ArrayList<>();
    try {
      int[] ports = start(dir, nodes, 3, "bench-" + UUID.randomUUID(), 22_000 + (int) (Math.random() * 400) * 20);
      String writer = memory(ports[0]).getString("writer");
      int victim = Integer.parseInt(writer.substring(1)) - 1;
      int[] survivors = new int[] {ports[(victim + 1) % 3], ports[(victim + 2) % 3]};
      Load load = new Load(survivors, concurrency);
      Set<String> acked = ConcurrentHashMap.newKeySet();
      AtomicLong lastAck = new AtomicLong();
      load.acked = (text, at) -> {
        acked.add(text);
        lastAck.accumulateAndGet(at, Math::max);
      };
      Future<Integer> running = load.start(Integer.MAX_VALUE);
      long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
      while (System.nanoTime() < until) {
        Thread.sleep(50);
      }
      int before = acked.size();
      long killedAt = System.nanoTime();
      nodes.get(victim).destroyForcibly();
      load.firstAfter = killedAt;
      long end = System.nanoTime() + TimeUnit.MINUTES.toNanos(1);
      while (load.resumedAt.get() == 0 && System.nanoTime() < end) {
        Thread.sleep(10);
      }
      Thread.sleep(3_000);
      load.stop();
      running.await(1, TimeUnit.MINUTES);
      long resumed = load.resumedAt.get();
      // the survivors converge; count what each holds
      Thread.sleep(2_000);
      Map<String, Integer> lost = new HashMap<>();
      for (int i = 0; i < 3; i++) {
        if (i == victim) {
          continue;
        }
        Set<String> held = entries(dir.resolve("memory-n" + (i + 1)));
        int missing = 0;
        for (String a : acked) {
          if (!held.contains(a)) {
            missing++;
          }
        }
        lost.put("n" + (i + 1), missing);
      }
      out.printf("  appends that failed during the takeover: %d%n", load.failedTotal.get());
      MessageBench.printFailures(out);
      out.printf("  writer %s SIGKILLed under load (%,d appends acknowledged before): first append acknowledged %s "
          + "after the kill; %,d acknowledged in all; acknowledged entries missing on the survivors: %s%n",
        writer, before, resumed == 0 ? "never (within 1 min)" : String.format("%.2f s", (resumed - killedAt) / 1e9),
        acked.size(), lost);
      load.close();
    } finally {
      MessageBench.stop(nodes);
    }
  }

  private static Set<String> entries(Path dir) throws IOException {
    Set<String> out = new HashSet<>();
    if (!Files.exists(dir)) {
      return out;
    }
    try (var files = Files.walk(dir)) {
      for (Path f : files.filter(p -> p.toString().endsWith(".md")).toList()) {
        Matcher m = ENTRY.matcher(Files.readString(f, StandardCharsets.UTF_8));
        while (m.find()) {
          out.add(m.group(1));
        }
      }
    }
    return out;
  }

  /**
   * Closed loops of appends, every text unique: spread over the nodes' HTTP ports, or sent on the
   * event bus from a lite member of the cluster with the memory client agents use.
   */
  private static final class Load {
    private final Vertx vertx;
    private final List<HttpClientAgent> clients = new ArrayList<>();
    private final MemoryClient memory;
    private final int concurrency;
    private final AtomicInteger seq = new AtomicInteger();
    private volatile boolean stopped;
    volatile long firstAfter = Long.MAX_VALUE;
    final AtomicLong resumedAt = new AtomicLong();
    final AtomicInteger failedTotal = new AtomicInteger();
    volatile BiConsumer<String, Long> acked = (t, at) -> { };

    Load(Vertx lite, int concurrency) {
      this.vertx = lite;
      this.concurrency = concurrency;
      this.memory = new MemoryClient(lite, MessageAuth.Signer.of(SECRET.getBytes(StandardCharsets.UTF_8),
        MemoryPolicy.ADMIN), 60_000);
    }

    Load(int[] ports, int concurrency) {
      this.vertx = Vertx.vertx();
      this.memory = null;
      this.concurrency = concurrency;
      for (int port : ports) {
        clients.add(vertx.createHttpClient(new HttpClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(port)
          .setKeepAlive(true), new PoolOptions().setHttp1MaxSize(concurrency)));
      }
    }

    int run(int n, Histogram h) throws Exception {
      this.histogram = h;
      return start(n).await(30, TimeUnit.MINUTES);
    }

    private Histogram histogram;

    Future<Integer> start(int n) {
      AtomicInteger remaining = new AtomicInteger(n);
      AtomicInteger failed = new AtomicInteger();
      List<Future<Void>> loops = new ArrayList<>();
      for (int c = 0; c < concurrency; c++) {
        Promise<Void> done = Promise.promise();
        loop(clients.isEmpty() ? null : clients.get(c % clients.size()), c, remaining, failed, done);
        loops.add(done.future());
      }
      return Future.all(loops).map(v -> failed.get());
    }

    void stop() {
      stopped = true;
    }

    private void loop(HttpClientAgent client, int c, AtomicInteger remaining, AtomicInteger failed, Promise<Void> done) {
      if (stopped || remaining.getAndDecrement() <= 0) {
        done.complete();
        return;
      }
      String text = "b" + c + "-" + seq.incrementAndGet();
      long t0 = System.nanoTime();
      Future<Integer> sent;
      if (client == null) {
        sent = memory.append("shared/bench-" + (c % 8) + ".md", "bench", text).map(r -> 200);
      } else {
        Buffer body = new JsonObject().put("author", "bench").put("text", text).toBuffer();
        sent = client.request(new RequestOptions().setMethod(HttpMethod.POST)
            .setURI("/v1/memory/shared/bench-" + (c % 8) + ".md"))
          .compose(req -> req.send(body))
          .compose(resp -> resp.body().map(b -> {
            if (resp.statusCode() != 200) {
              MessageBench.noteFailure(resp.statusCode() + " " + b);
            }
            return resp.statusCode();
          }));
      }
      sent.onComplete(ar -> {
          long now = System.nanoTime();
          if (ar.succeeded() && ar.result() == 200) {
            acked.accept(text, now);
            // the first acknowledged after the kill: sent after it, or answered well after it (a retry
            // that waited for the new writer), not a reply already on its way when the writer died
            if (now > firstAfter && (t0 > firstAfter || now - firstAfter > 50_000_000L)) {
              resumedAt.compareAndSet(0, now);
            }
            if (histogram != null) {
              synchronized (histogram) {
                histogram.recordValue(Math.min(now - t0, histogram.getHighestTrackableValue()));
              }
            }
          } else {
            if (ar.failed()) {
              MessageBench.noteFailure(String.valueOf(ar.cause()));
            }
            failed.incrementAndGet();
            failedTotal.incrementAndGet();
          }
          loop(client, c, remaining, failed, done);
        });
    }

    void close() throws Exception {
      vertx.close().await(30, TimeUnit.SECONDS);
    }
  }
}
