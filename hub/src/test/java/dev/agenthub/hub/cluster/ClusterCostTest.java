package dev.agenthub.hub.cluster;

import dev.agenthub.devtools.mock.MockLlm;
import dev.agenthub.hub.HubNode;
import dev.agenthub.hub.TestHub;
import dev.agenthub.testing.Fixtures;
import dev.agenthub.testing.HubYaml;

import com.hazelcast.core.DistributedObject;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;
import com.hazelcast.map.LocalMapStats;
import com.hazelcast.multimap.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.impl.clustered.ClusteredMessage;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.IntFunction;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What a message costs the cluster, counted by Hazelcast itself: every map's operations on every
 * member (Vert.x's locks and counters are maps too), read before and after N messages and divided
 * by N, and the event-bus messages that arrive from another node. On one clustered node, then on two
 * with the messages sent to both gateways in turn. A change that adds a Hazelcast operation (or an
 * event-bus message between nodes) per message passes a budget here and fails, naming the map (or
 * the address) and the figure. The figures are in docs/ARCHITECTURE.md ("A message's cluster cost").
 */
class ClusterCostTest {

  private static final int WARM_UP = 40;
  private static final int MESSAGES = 200;
  private static final int LOOPS = 8;
  // a figure may pass its budget by less than one operation a message: what runs on timers (the
  // ledger's scans, dashboards, memory pings) and Vert.x's merged lookups move figures by fractions
  private static final double SLACK = 0.5;

  /**
   * Operations on each map's entries per message (puts, sets and entry processors, gets, removes,
   * locks; not the scans that run on timers), the same on one node and on two; a map not named has
   * none.
   */
  private static final Map<String, Double> HAZELCAST = Map.of(
    // a client's idempotency key (the messages path only): is it answered already, then its answer
    "agenthub.answers", 2.0,
    // a hold, then its settlement, on each of two budgets (global, the client's)
    "agenthub.budget-counters", 4.0,
    // a take, then the refund of what was not used, on the key's buckets and on the client's tokens
    "agenthub.key-buckets", 4.0,
    // a miss, then the answer put for the next one
    "agenthub.response-cache", 2.0,
    // the ledger's row of this node, agent, model, key, day and client
    "agenthub.spend", 1.0);

  /** Event-bus messages from the other node per message, on two nodes (the agent on either, the memory writer on the first). */
  private static final Map<String, Double> WIRE_MESSAGES = Map.of(
    "agent.support.<slot>@<node>", 0.5, "memory.write", 1.0, "memory.changed", 2.0, "(replies)", 1.5);
  private static final Map<String, Double> WIRE_CHAT = Map.of(
    "agent.support.<slot>@<node>", 0.5, "memory.write", 1.0, "memory.read", 0.5, "memory.changed", 2.0,
    "(replies)", 2.0);

  private static final String SECRET = "sk-cost-0123456789";
  private static final String TOKEN = "cost-token";
  private static final Vertx MOCK_VERTX = Vertx.vertx();

  private static MockLlm mock;
  private static HubNode first;
  private static HubNode second;
  private static String secondYaml;

  @BeforeAll
  static void start() throws Exception {
    mock = new MockLlm(MOCK_VERTX, 0, 0, List.of(new MockLlm.Key(SECRET, 1_000_000, 1_000_000_000)));
    int port = mock.listen("127.0.0.1", 0).await(30, TimeUnit.SECONDS);
    Path key = Files.createTempFile("agenthub-key", ".txt");
    Files.writeString(key, SECRET);
    String cluster = "cost-" + UUID.randomUUID();
    int base = Fixtures.randomBasePort();
    // the real provider path with a key's limits, a block budget and a client with its own tokens per
    // minute and budget: every per-call cluster operation the hub has is on (fsync off: it is no cluster cost)
    String shared = HubYaml.clusterYaml(cluster, base) + "memory: { dir: \"" + Fixtures.freshDir() + "\", fsync: false }\n" + """
      providers:
        openai: { type: openai, base-url: "http://127.0.0.1:%d/v1", keys: [ { id: a, secret-file: "%s", rpm: 1000000, tpm: 1000000000 } ] }
      models:
        mini: { provider: openai, name: gpt-4o-mini, input: 0.15, output: 0.60 }
      agents:
        - { id: support, instances: 2, models: { routine: mini }, limits: { max-concurrent: 1000, max-queue: 5000 } }
      budgets: { monthly-usd: 1000, on-exceed: block }
      clients:
        - { id: acme, token-sha256: %s, agents: [support], tpm: 100000000, budget-usd: 1000 }
      """.formatted(port, key, sha256(TOKEN));
    first = TestHub.start(node("cost-1") + ledger() + shared);
    countWire(first);
    // the second node joins once the first one's figures are taken
    secondYaml = node("cost-2") + ledger() + shared;
  }

  @AfterAll
  static void stop() throws Exception {
    if (second != null) {
      second.close().await(1, TimeUnit.MINUTES);
    }
    if (first != null) {
      first.close().await(1, TimeUnit.MINUTES);
    }
    mock.close().await(30, TimeUnit.SECONDS);
    MOCK_VERTX.close().await(30, TimeUnit.SECONDS);
  }

  @Test
  void aMessageCostsTheClusterNoMoreOperationsThanCounted() throws Exception {
    List<String> over = new ArrayList<>();
    List<HubNode> one = List.of(first);
    measure("one node, messages", one, ClusterCostTest::message).check(HAZELCAST, Map.of(), over);
    measure("one node, chat", one, ClusterCostTest::chat).check(HAZELCAST, Map.of(), over);

    second = TestHub.start(secondYaml);
    countWire(second);
    Fixtures.await("both nodes see each other and run one instance each", Duration.ofSeconds(60),
      () -> placed(first) && placed(second));
    List<HubNode> two = List.of(first, second);
    measure("two nodes, messages", two, ClusterCostTest::message).check(HAZELCAST, WIRE_MESSAGES, over);
    measure("two nodes, chat", two, ClusterCostTest::chat).check(HAZELCAST, WIRE_CHAT, over);
    assertThat(over).as("cluster operations per message over their budgets: a change added some on the hot "
      + "path (see the figures printed above and docs/ARCHITECTURE.md)").isEmpty();
  }

  // -- the load

  /** A message in one of {@link #LOOPS} sessions kept in RAM, with the client's own idempotency key. */
  private static JsonObject message(int i) {
    return new JsonObject().put("session", "cost-" + (i % LOOPS)).put("text", "Where is my parcel? (" + i + ")")
      .put("idempotency_key", "cost-" + i);
  }

  /** An OpenAI-shaped request in a session of its own: read back (and claimed) from the memory, then written. */
  private static JsonObject chat(int i) {
    return new JsonObject().put("model", "support").put("user", "chat-" + i).put("messages", new JsonArray()
      .add(new JsonObject().put("role", "user").put("content", "Where is my parcel? (" + i + ")")));
  }

  /** Sends {@code n} messages in {@link #LOOPS} closed loops, message i to node i modulo their number. */
  private static void send(List<HubNode> nodes, int from, int n, IntFunction<JsonObject> body) throws Exception {
    ExecutorService loops = Executors.newFixedThreadPool(LOOPS);
    try {
      AtomicInteger next = new AtomicInteger(from);
      List<Future<?>> done = new ArrayList<>();
      for (int l = 0; l < LOOPS; l++) {
        done.add(loops.submit(() -> {
          for (int i = next.getAndIncrement(); i < from + n; i = next.getAndIncrement()) {
            JsonObject b = body.apply(i);
            String path = b.containsKey("model") ? "/v1/chat/completions" : "/v1/agents/support/messages";
            HttpResponse<String> r = TestHub.HTTP.send(HttpRequest.newBuilder(
                URI.create(nodes.get(i % nodes.size()).url() + path)).timeout(Duration.ofSeconds(60))
              .header("Content-Type", "application/json").header("Authorization", "Bearer " + TOKEN)
              .POST(HttpRequest.BodyPublishers.ofString(b.encode())).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
          }
          return null;
        }));
      }
      for (Future<?> f : done) {
        f.get(2, TimeUnit.MINUTES);
      }
    } finally {
      loops.shutdownNow();
    }
  }

  // -- the count

  private static final Map<Vertx, Map<String, LongAdder>> WIRE = new ConcurrentHashMap<>();
  private static int sent;

  private static Cost measure(String name, List<HubNode> nodes, IntFunction<JsonObject> body) throws Exception {
    send(nodes, sent, WARM_UP, body);
    sent += WARM_UP;
    Thread.sleep(500);
    Map<String, Ops> before = hazelcast(nodes);
    Map<String, Long> wireBefore = wire(nodes);
    long start = System.nanoTime();
    send(nodes, sent, MESSAGES, body);
    sent += MESSAGES;
    // the writes nobody waits for (a refund, a kept answer, a cache fill) land within moments
    Thread.sleep(500);
    double seconds = (System.nanoTime() - start) / 1e9;
    Map<String, Ops> ops = new TreeMap<>();
    hazelcast(nodes).forEach((map, after) -> ops.put(map, after.minus(before.getOrDefault(map, Ops.NONE))));
    Map<String, Long> wire = new TreeMap<>();
    wire(nodes).forEach((kind, after) -> wire.put(kind, after - wireBefore.getOrDefault(kind, 0L)));
    Cost cost = new Cost(name, nodes.size(), ops, seconds, wire);
    System.out.println(cost.table());
    return cost;
  }

  /**
   * A map's operations as Hazelcast counts them on the members that own its partitions: puts and
   * sets (an entry processor that changes its entry counts as a set), gets, removes, other operations
   * (locks, scans) and, of those, queries (scans of the whole map); its backup count.
   */
  record Ops(long writes, long gets, long removes, long others, long queries, int backupCount) {

    static final Ops NONE = new Ops(0, 0, 0, 0, 0, 0);

    static Ops of(LocalMapStats s) {
      return new Ops(s.getPutOperationCount() + s.getSetOperationCount(), s.getGetOperationCount(),
        s.getRemoveOperationCount(), s.getOtherOperationCount(), s.getQueryCount(), s.getBackupCount());
    }

    Ops plus(Ops o) {
      return new Ops(writes + o.writes, gets + o.gets, removes + o.removes, others + o.others, queries + o.queries,
        Math.max(backupCount, o.backupCount));
    }

    Ops minus(Ops o) {
      return new Ops(writes - o.writes, gets - o.gets, removes - o.removes, others - o.others, queries - o.queries,
        backupCount);
    }

    /** Operations on entries: all but the scans (a scan counts once as a query on each member, once as other on the caller's). */
    long keyed() {
      return writes + gets + removes + Math.max(0, others - queries);
    }
  }

  /** Each map's operations (multimaps' too), summed over the members. */
  private static Map<String, Ops> hazelcast(List<HubNode> nodes) {
    Map<String, Ops> out = new TreeMap<>();
    for (HubNode n : nodes) {
      HazelcastInstance hz = ((HazelcastClusterManager) TestHub.clusterManager(n.vertx())).getHazelcastInstance();
      for (DistributedObject o : hz.getDistributedObjects()) {
        LocalMapStats s = o instanceof IMap<?, ?> m ? m.getLocalMapStats()
          : o instanceof MultiMap<?, ?> mm ? mm.getLocalMultiMapStats() : null;
        // nothing else (no topic, queue, executor, CP structure) exists to be counted
        assertThat(s).as("a Hazelcast structure this test does not count: " + o.getServiceName() + " " + o.getName())
          .isNotNull();
        out.merge(o.getName(), Ops.of(s), Ops::plus);
      }
    }
    return out;
  }

  /** Counts, on {@code node}, the event-bus messages that arrive from another node, by kind of address. */
  private static void countWire(HubNode node) {
    Map<String, LongAdder> counts = new ConcurrentHashMap<>();
    WIRE.put(node.vertx(), counts);
    node.vertx().eventBus().addInboundInterceptor(ctx -> {
      if (ctx.message() instanceof ClusteredMessage<?, ?> m && m.isFromWire()) {
        counts.computeIfAbsent(kind(m.address()), k -> new LongAdder()).increment();
      }
      ctx.next();
    });
  }

  /** An address with its instance and node left out, or the replies'. */
  private static String kind(String address) {
    if (address.startsWith("__vertx.reply")) {
      return "(replies)";
    }
    int at = address.indexOf('@');
    return at < 0 ? address : address.substring(0, address.lastIndexOf('.', at)) + ".<slot>@<node>";
  }

  private static Map<String, Long> wire(List<HubNode> nodes) {
    Map<String, Long> out = new TreeMap<>();
    for (HubNode n : nodes) {
      WIRE.get(n.vertx()).forEach((k, v) -> out.merge(k, v.sum(), Long::sum));
    }
    return out;
  }

  /** One scenario's figures: each map's operations and the event-bus messages between nodes. */
  record Cost(String name, int nodes, Map<String, Ops> ops, double seconds, Map<String, Long> wire) {

    double perMessage(long n) {
      return n / (double) MESSAGES;
    }

    /** Adds to {@code over} each figure past its budget (a map or address not named has a budget of 0). */
    void check(Map<String, Double> hazelcast, Map<String, Double> wireBudget, List<String> over) {
      ops.forEach((map, o) -> {
        double budget = hazelcast.getOrDefault(map, 0.0);
        if (perMessage(o.keyed()) > budget + SLACK) {
          over.add(String.format(Locale.ROOT, "%s: map %s, %.2f Hazelcast operations a message (budget %.1f): "
              + "%.2f puts/sets/entry processors, %.2f gets, %.2f removes, %.2f other", name, map,
            perMessage(o.keyed()), budget, perMessage(o.writes), perMessage(o.gets), perMessage(o.removes),
            perMessage(Math.max(0, o.others - o.queries))));
        }
      });
      if (nodes > 1) {
        wire.forEach((kind, n) -> {
          double budget = wireBudget.getOrDefault(kind, 0.0);
          if (perMessage(n) > budget + SLACK) {
            over.add(String.format(Locale.ROOT, "%s: address %s, %.2f event-bus messages a message from the "
              + "other node (budget %.1f)", name, kind, perMessage(n), budget));
          }
        });
      }
    }

    String table() {
      StringBuilder out = new StringBuilder(String.format(Locale.ROOT, "%s: %d messages in %.1f s%n", name, MESSAGES,
        seconds));
      out.append(String.format(Locale.ROOT, "  %-28s %9s %6s %7s %6s %8s %8s | %7s%n", "per message", "writes", "gets",
        "removes", "other", "backups", "total", "scans/s"));
      ops.forEach((map, o) -> {
        if (o.keyed() + o.queries > 0) {
          // a write on a map with a backup is copied to the member holding the backup, synchronously
          long backups = nodes > 1 ? (o.writes + o.removes) * o.backupCount : 0;
          out.append(String.format(Locale.ROOT, "  %-28s %9.2f %6.2f %7.2f %6.2f %8.2f %8.2f | %7.1f%n", map,
            perMessage(o.writes), perMessage(o.gets), perMessage(o.removes),
            perMessage(Math.max(0, o.others - o.queries)), perMessage(backups), perMessage(o.keyed() + backups),
            o.queries / seconds));
        }
      });
      wire.forEach((kind, n) -> {
        if (n > 0) {
          out.append(String.format(Locale.ROOT, "  event bus from the other node: %-28s %6.2f%n", kind, perMessage(n)));
        }
      });
      return out.toString();
    }
  }

  // -- the nodes

  private static boolean placed(HubNode node) {
    return node.view().nodes().size() == 2 && !node.view().on("cost-1").isEmpty() && !node.view().on("cost-2").isEmpty();
  }

  private static String node(String name) {
    return "node: { name: %s, roles: [general], http: { port: 0, max-body: 4KiB, request-timeout: 60s, client-rps: 0 } }\n"
      .formatted(name);
  }

  private static String ledger() {
    return "ledger: { dir: \"" + Fixtures.freshDir() + "\" }\naudit: { dir: \"" + Fixtures.freshDir() + "\" }\n";
  }

  private static String sha256(String s) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
  }
}
