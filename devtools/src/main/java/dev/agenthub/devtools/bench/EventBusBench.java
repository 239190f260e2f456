package dev.agenthub.devtools.bench;

import dev.agenthub.client.AgentHubClient;
import dev.agenthub.client.LiteMember;

import com.hazelcast.config.Config;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.eventbus.EventBusOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;
import org.HdrHistogram.Histogram;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * {@code agenthub.jar bench eventbus}: the same cluster of two nodes (separate JVMs, sim latency 0)
 * loaded by this JVM over HTTP (to node 1), then by this JVM as an application through node 1's
 * event-bus bridge ({@link AgentHubClient} over one TCP connection): messages/s and latency
 * percentiles of both doors, closed loops of C sessions. Asserts nothing.
 */
final class EventBusBench {

  private EventBusBench() {
  }

  static void run(PrintStream out, int messages, int concurrency) throws Exception {
    out.printf("scenario eventbus: %,d messages, %d concurrent sessions, sim latency 0, two nodes, %d cores%n",
      messages, concurrency, Runtime.getRuntime().availableProcessors());
    Path dir = Files.createTempDirectory("agenthub-bench-eventbus");
    int base = 21_000 + (int) (Math.random() * 200) * 50;
    String cluster = "bench-" + UUID.randomUUID();
    List<Process> nodes = new ArrayList<>();
    try {
      int p1 = MessageBench.freePort();
      int p2 = MessageBench.freePort();
      int bridge = MessageBench.freePort();
      Path memory = dir.resolve("memory");
      nodes.add(MessageBench.startNode(dir, "n1", "general", true, cluster, base, p1, memory, 0, "",
        Map.of("AGENTHUB_BRIDGE_PORT", String.valueOf(bridge))));
      MessageBench.waitReady(p1, 1);
      nodes.add(MessageBench.startNode(dir, "n2", "general", true, cluster, base, p2, memory, 0));
      MessageBench.waitReady(p1, 2);
      MessageBench.waitReady(p2, 2);
      MessageBench.measure(out, "  HTTP (client -> node 1)", p1, messages, concurrency, "/v1/agents/support/messages",
        c -> new JsonObject().put("session", "http-" + c).put("text", "Where is my parcel?"));
      Vertx app = Vertx.vertx();
      try {
        AgentHubClient hub = AgentHubClient.create(app, new AgentHubClient.Options()
          .setBridges(List.of("127.0.0.1:" + bridge)));
        drive(hub, Math.min(messages / 5, 10_000), concurrency, new Histogram(3), "warm");
        Histogram h = new Histogram(TimeUnit.MINUTES.toNanos(1), 3);
        long t0 = System.nanoTime();
        int failed = drive(hub, messages, concurrency, h, "eb");
        double seconds = (System.nanoTime() - t0) / 1e9;
        out.printf("%-56s %,9.0f /s   p50 %6.2f ms   p99 %6.2f ms   p99.9 %6.2f ms   max %6.2f ms   failed %d%n",
          "  bridge (client -> node 1's bridge, AgentHubClient)", messages / seconds, h.getValueAtPercentile(50) / 1e6,
          h.getValueAtPercentile(99) / 1e6, h.getValueAtPercentile(99.9) / 1e6, h.getMaxValue() / 1e6, failed);
        MessageBench.printFailures(out);
      } finally {
        app.close().await(1, TimeUnit.MINUTES);
      }
    } finally {
      MessageBench.stop(nodes);
    }
  }

  private static int drive(AgentHubClient hub, int messages, int concurrency, Histogram h, String prefix)
    throws Exception {
    AtomicInteger remaining = new AtomicInteger(messages);
    AtomicInteger failed = new AtomicInteger();
    List<Future<Void>> loops = new ArrayList<>();
    for (int c = 0; c < concurrency; c++) {
      Promise<Void> done = Promise.promise();
      loop(hub, prefix + "-" + c, remaining, failed, h, done);
      loops.add(done.future());
    }
    Future.all(loops).await(30, TimeUnit.MINUTES);
    return failed.get();
  }

  private static void loop(AgentHubClient hub, String session, AtomicInteger remaining, AtomicInteger failed,
                           Histogram h, Promise<Void> done) {
    if (remaining.getAndDecrement() <= 0) {
      done.complete();
      return;
    }
    long t0 = System.nanoTime();
    hub.send("support", session, "Where is my parcel?").onComplete(ar -> {
      if (ar.succeeded()) {
        synchronized (h) {
          h.recordValue(Math.min(System.nanoTime() - t0, h.getHighestTrackableValue()));
        }
      } else {
        MessageBench.noteFailure(String.valueOf(ar.cause()));
        failed.incrementAndGet();
      }
      loop(hub, session, remaining, failed, h, done);
    });
  }

  /**
   * Joins the nodes' cluster (Hazelcast on {@code base}..{@code base+2}) as a lite member: for the
   * benchmarks that act as a node (with the cluster's trust), never as an application.
   */
  static Vertx liteMember(String cluster, int base) throws Exception {
    Config hz = LiteMember.config(cluster, MessageBench.CLUSTER_SECRET.getBytes(StandardCharsets.UTF_8), "127.0.0.1",
      List.of("127.0.0.1:" + base, "127.0.0.1:" + (base + 1), "127.0.0.1:" + (base + 2)));
    hz.setProperty("hazelcast.logging.type", "none");
    HazelcastClusterManager manager = new HazelcastClusterManager(hz);
    Vertx vertx = Vertx.builder().with(new VertxOptions().setEventBusOptions(new EventBusOptions().setHost("127.0.0.1")))
      .withClusterManager(manager).buildClustered().await(2, TimeUnit.MINUTES);
    // a member proves it holds the secret, or the nodes name it an intruder
    LiteMember.answerChallenges(vertx, manager, MessageBench.CLUSTER_SECRET.getBytes(StandardCharsets.UTF_8))
      .await(1, TimeUnit.MINUTES);
    return vertx;
  }
}
