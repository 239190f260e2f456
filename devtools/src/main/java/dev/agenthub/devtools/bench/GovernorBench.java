package dev.agenthub.devtools.bench;

import dev.agenthub.devtools.mock.MockLlm;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import org.HdrHistogram.Histogram;

import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * {@code bench governor}: two clustered nodes share three keys of the mock LLM (in this JVM, a real
 * HTTP server enforcing the keys' limits). A saturating load through both nodes for a fixed time
 * gives the pool utilization (calls the mock answered against what the keys allow) and the 429s
 * seen; a light load gives the governor's overhead per call (its provider call time minus the
 * mock's fixed latency).
 */
final class GovernorBench {

  private static final int RPM = 1200;
  private static final int KEYS = 3;
  private static final long MOCK_LATENCY_MS = 20;

  private GovernorBench() {
  }

  static void run(PrintStream out, int seconds) throws Exception {
    out.printf("scenario governor: 2 nodes, %d keys x %d RPM on the mock LLM (latency %d ms), %d s saturating load%n",
      KEYS, RPM, MOCK_LATENCY_MS, seconds);
    Vertx vertx = Vertx.vertx();
    Path dir = Files.createTempDirectory("agenthub-bench-gov");
    List<Process> nodes = new ArrayList<>();
    try {
      List<MockLlm.Key> keys = new ArrayList<>();
      StringBuilder keyYaml = new StringBuilder();
      for (int i = 0; i < KEYS; i++) {
        String secret = "sk-bench-" + UUID.randomUUID();
        keys.add(new MockLlm.Key(secret, RPM, 10_000_000));
        Path f = dir.resolve("key" + i);
        Files.writeString(f, secret);
        keyYaml.append(i == 0 ? "" : ", ").append("{ id: k").append(i).append(", secret-file: \"").append(f)
          .append("\", rpm: ").append(RPM).append(", tpm: 10000000 }");
      }
      MockLlm mock = new MockLlm(vertx, MOCK_LATENCY_MS, 0, keys);
      int mockPort = mock.listen("127.0.0.1", 0).await(30, TimeUnit.SECONDS);
      String cluster = "bench-" + UUID.randomUUID();
      int base = 23_000 + (int) (Math.random() * 100) * 20;
      int[] ports = {MessageBench.freePort(), MessageBench.freePort()};
      for (int i = 0; i < 2; i++) {
        Path conf = dir.resolve("n" + i + ".yaml");
        Files.writeString(conf, """
          node: { name: g%d, roles: [general], http: { port: %d } }
          cluster: { enabled: true, name: %s, host: 127.0.0.1, port: %d, members: ["127.0.0.1:%d-%d"] }
          memory: { dir: "%s" }
          providers:
            mock: { type: openai, base-url: "http://127.0.0.1:%d/v1", max-retries: 8, keys: [ %s ] }
          models:
            small: { provider: mock, name: gpt-4o-mini, input: 0.15, output: 0.60 }
          agents:
            - { id: support, models: { routine: small }, cache: false, limits: { max-concurrent: 1024, max-queue: 100000 } }
            - { id: ops, models: { routine: small }, cache: false, limits: { max-concurrent: 1024, max-queue: 100000 } }
          """.formatted(i, ports[i], cluster, base, base, base + 1, dir.resolve("memory"), mockPort, keyYaml));
        nodes.add(new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx768m",
          "-jar", MessageBench.hubJar(), "run", "--conf", conf.toString()).redirectErrorStream(true)
          .redirectOutput(dir.resolve("n" + i + ".log").toFile()).start());
      }
      MessageBench.waitReady(ports[0], 2);
      MessageBench.waitReady(ports[1], 2);

      HttpClientAgent client = vertx.createHttpClient(new HttpClientOptions().setDefaultHost("127.0.0.1"),
        new PoolOptions().setHttp1MaxSize(256));
      // warm up, then measure the pool's use under a load it cannot keep up with
      timed(client, ports, 128, 5, new Histogram(3), new AtomicInteger());
      JsonObject before = mock.stats();
      long started = System.nanoTime();
      AtomicInteger failed = new AtomicInteger();
      Histogram turns = new Histogram(TimeUnit.MINUTES.toNanos(5), 3);
      timed(client, ports, 256, seconds, turns, failed);
      double elapsed = (System.nanoTime() - started) / 1e9;
      JsonObject after = mock.stats();
      long ok = after.getLong("ok") - before.getLong("ok");
      long limited = after.getLong("rate_limited") - before.getLong("rate_limited");
      double capacity = KEYS * RPM / 60.0 * elapsed;
      out.printf("  saturated: %,d calls in %.1f s = %.1f/s of %.1f/s allowed: pool utilization %.1f%% "
          + "(governor plans with %.0f%%), 429s seen: %d, failed messages: %d%n",
        ok, elapsed, ok / elapsed, KEYS * RPM / 60.0, 100.0 * ok / capacity, 95.0, limited, failed.get());

      // light load: the provider call as the governor sees it, minus the mock's own latency
      long[] model = modelSeconds(ports[0]);
      timed(client, ports, 1, 10, new Histogram(3), new AtomicInteger());
      long[] model2 = modelSeconds(ports[0]);
      out.printf("  governor overhead per call at light load (provider call time minus the mock's %d ms): "
        + "p50 %s, p99 %s%n", MOCK_LATENCY_MS, overhead(model, model2, 0.50), overhead(model, model2, 0.99));
      client.close().await(10, TimeUnit.SECONDS);
    } finally {
      MessageBench.stop(nodes);
      vertx.close().await(30, TimeUnit.SECONDS);
    }
  }

  /** Closed loops over both nodes' gateways for {@code seconds}. */
  private static void timed(HttpClientAgent client, int[] ports, int loops, int seconds, Histogram h,
                            AtomicInteger failed) throws Exception {
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    List<Future<Void>> all = new ArrayList<>();
    for (int c = 0; c < loops; c++) {
      Promise<Void> done = Promise.promise();
      loop(client, ports[c % 2], c % 2 == 0 ? "support" : "ops", "gov-" + c, 0, end, h, failed, done);
      all.add(done.future());
    }
    Future.all(all).await(seconds + 300L, TimeUnit.SECONDS);
  }

  private static void loop(HttpClientAgent client, int port, String agent, String session, int i, long end,
                           Histogram h, AtomicInteger failed, Promise<Void> done) {
    if (System.nanoTime() >= end) {
      done.complete();
      return;
    }
    long t0 = System.nanoTime();
    String body = new JsonObject().put("session", session + "-" + i).put("text", "question " + i).encode();
    client.request(new RequestOptions().setMethod(HttpMethod.POST).setPort(port)
        .setURI("/v1/agents/" + agent + "/messages"))
      .compose(req -> req.send(body)).compose(resp -> resp.body().map(b -> resp.statusCode()))
      .onComplete(ar -> {
        if (ar.succeeded() && ar.result() == 200) {
          synchronized (h) {
            h.recordValue(Math.min(System.nanoTime() - t0, h.getHighestTrackableValue()));
          }
        } else {
          failed.incrementAndGet();
        }
        loop(client, port, agent, session, i + 1, end, h, failed, done);
      });
  }

  /** The cumulative buckets of agenthub_model_seconds on a node: {le in ns..., count...}. */
  private static long[] modelSeconds(int port) throws Exception {
    String text = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
      + "/metrics")).build(), HttpResponse.BodyHandlers.ofString()).body();
    List<long[]> buckets = new ArrayList<>();
    for (String line : text.split("\n")) {
      if (line.startsWith("agenthub_model_seconds_bucket{") && line.contains("model=\"small\"")) {
        String le = line.substring(line.indexOf("le=\"") + 4, line.indexOf('"', line.indexOf("le=\"") + 4));
        long ns = le.equals("+Inf") ? Long.MAX_VALUE : (long) (Double.parseDouble(le) * 1e9);
        buckets.add(new long[]{ns, (long) Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1))});
      }
    }
    long[] flat = new long[buckets.size() * 2];
    for (int i = 0; i < buckets.size(); i++) {
      flat[2 * i] = buckets.get(i)[0];
      flat[2 * i + 1] = buckets.get(i)[1];
    }
    return flat;
  }

  private static String overhead(long[] before, long[] after, double q) {
    int n = after.length / 2;
    long total = after[2 * n - 1] - (before.length == after.length ? before[2 * n - 1] : 0);
    if (total <= 0) {
      return "n/a";
    }
    for (int i = 0; i < n; i++) {
      long count = after[2 * i + 1] - (before.length == after.length ? before[2 * i + 1] : 0);
      if (count >= q * total) {
        double ms = after[2 * i] == Long.MAX_VALUE ? Double.NaN : after[2 * i] / 1e6 - MOCK_LATENCY_MS;
        return String.format("<= %.1f ms", Math.max(0, ms));
      }
    }
    return "n/a";
  }


}
