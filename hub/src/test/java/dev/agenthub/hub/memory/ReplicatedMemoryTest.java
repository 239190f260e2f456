package dev.agenthub.hub.memory;

import dev.agenthub.hub.Browser;
import dev.agenthub.hub.HubNode;
import dev.agenthub.hub.TestHub;
import dev.agenthub.memory.MemoryAddresses;
import dev.agenthub.memory.MemoryPolicy;
import dev.agenthub.protocol.MessageAuth;
import dev.agenthub.testing.Fixtures;
import dev.agenthub.testing.HubYaml;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Replicated memory ({@code memory.replicas: 3}) on three real clustered nodes in this JVM, each with
 * its own directory: appends through every node land once in every copy, byte for byte; the writer
 * leaves and an in-sync follower takes over with every acknowledged entry; a node that comes back
 * empty is given a snapshot and follows again.
 */
class ReplicatedMemoryTest {

  private final String cluster = "repl-" + UUID.randomUUID();
  private final int port = Fixtures.randomBasePort();
  private final Map<String, Path> dirs = new TreeMap<>();
  private final Map<String, HubNode> nodes = new TreeMap<>();

  @AfterEach
  void stop() throws Exception {
    for (HubNode n : nodes.values()) {
      n.close().await(1, TimeUnit.MINUTES);
    }
  }

  private HubNode start(String name) throws Exception {
    Path dir = dirs.computeIfAbsent(name, n -> Fixtures.freshDir());
    HubNode node = TestHub.start(HubYaml.replicaYaml(name, cluster, port, dir));
    nodes.put(name, node);
    return node;
  }

  private static JsonObject memory(HubNode node) {
    try {
      return new JsonObject(TestHub.get(node.url() + "/v1/cluster").body()).getJsonObject("memory");
    } catch (Exception e) {
      return new JsonObject();
    }
  }

  /** The writer's view: every replica but the writer following, all at the writer's batch. */
  private static boolean inSync(HubNode node, int followers) {
    JsonObject m = memory(node);
    JsonArray replicas = m.getJsonArray("replicas");
    if (replicas == null) {
      return false;
    }
    long following = replicas.stream().map(JsonObject.class::cast).filter(r -> r.getString("state").equals("following"))
      .count();
    return m.getString("writer") != null && following >= followers;
  }

  private List<Thread> appendLoops(Set<String> acked, int perLoop, String tag) {
    List<Thread> loops = new ArrayList<>();
    for (HubNode n : nodes.values()) {
      for (int c = 0; c < 3; c++) {
        String prefix = tag + "-" + n.url().substring(n.url().lastIndexOf(':') + 1) + "-" + c + "-";
        Thread loop = new Thread(() -> {
          for (int i = 0; i < perLoop; i++) {
            String text = prefix + i;
            try {
              HttpResponse<String> r = TestHub.post(n.url() + "/v1/memory/shared/log-" + (i % 4) + ".md",
                new JsonObject().put("author", "t").put("text", text).encode());
              if (r.statusCode() == 200) {
                acked.add(text);
              }
            } catch (Exception e) {
              // a node going away: not acknowledged
            }
          }
        });
        loop.start();
        loops.add(loop);
      }
    }
    return loops;
  }

  private static Map<String, Integer> entries(Path dir) throws IOException {
    Map<String, Integer> seen = new HashMap<>();
    for (Map.Entry<String, byte[]> f : Fixtures.memoryFiles(dir).entrySet()) {
      for (String line : new String(f.getValue()).split("\n")) {
        if (line.matches("(w|k)-\\d+-\\d-\\d+")) {
          seen.merge(line, 1, Integer::sum);
        }
      }
    }
    return seen;
  }

  @Test
  void threeCopiesStayIdenticalThroughATakeoverAndANodeThatComesBackEmpty() throws Exception {
    for (String name : List.of("r1", "r2", "r3")) {
      start(name);
    }
    HubNode any = nodes.get("r1");
    Fixtures.await("a writer with two followers in sync", Duration.ofMinutes(2), () -> inSync(any, 2));

    Set<String> acked = ConcurrentHashMap.newKeySet();
    for (Thread t : appendLoops(acked, 40, "w")) {
      t.join(TimeUnit.MINUTES.toMillis(3));
    }
    assertThat(acked).hasSize(3 * 3 * 40);
    for (String name : List.of("r2", "r3")) {
      Fixtures.await("replica " + name + " identical to r1", Duration.ofMinutes(1),
        () -> Fixtures.sameMemoryFiles(dirs.get("r1"), dirs.get(name)));
    }
    for (Path dir : dirs.values()) {
      Map<String, Integer> seen = entries(dir);
      assertThat(seen.keySet()).as("every acknowledged entry in " + dir).containsAll(acked);
      assertThat(seen.values()).as("each once").allMatch(c -> c == 1);
    }

    // a read that may be stale is answered by any copy, the followers' included; claims only by the writer
    Set<String> answeredBy = new HashSet<>();
    String expected = Files.readString(dirs.get("r1").resolve("shared/log-0.md"));
    JsonObject ask = new JsonObject().put("path", "shared/log-0.md");
    MessageAuth.Signer admin = any.signer(MemoryPolicy.ADMIN);
    for (int i = 0; i < 30 && answeredBy.size() < 3; i++) {
      JsonObject answer = any.vertx().eventBus().<JsonObject>request(MemoryAddresses.READ_ANY, ask,
          admin.sign(MemoryAddresses.READ_ANY, ask, null)).await(30, TimeUnit.SECONDS).body();
      assertThat(answer.getString("text")).isEqualTo(expected);
      answeredBy.add(answer.getString("node"));
    }
    assertThat(answeredBy).as("copies that answered").hasSizeGreaterThan(1);
    assertThatThrownBy(() -> any.vertx().eventBus().request(MemoryAddresses.READ_ANY, ask.copy().put("claim", true))
      .await(30, TimeUnit.SECONDS)).hasMessageContaining("claim");

    // the writer leaves during a load: an in-sync follower takes over with everything acknowledged
    String writer = memory(any).getString("writer");
    Set<String> acked2 = ConcurrentHashMap.newKeySet();
    List<Thread> loops = appendLoops(acked2, 60, "k");
    Fixtures.await("some appends of the second load", Duration.ofMinutes(1), () -> acked2.size() >= 50);
    nodes.remove(writer).close().await(1, TimeUnit.MINUTES);
    for (Thread t : loops) {
      t.join(TimeUnit.MINUTES.toMillis(3));
    }
    HubNode survivor = nodes.values().iterator().next();
    Fixtures.await("a new writer", Duration.ofMinutes(1), () -> {
      String w = memory(survivor).getString("writer");
      return w != null && !w.equals(writer);
    });
    assertThat(TestHub.post(survivor.url() + "/v1/memory/shared/after.md",
      new JsonObject().put("author", "t").put("text", "after the takeover").encode()).statusCode()).isEqualTo(200);
    List<String> survivors = new ArrayList<>(nodes.keySet());
    Fixtures.await("the survivors identical", Duration.ofMinutes(1),
      () -> Fixtures.sameMemoryFiles(dirs.get(survivors.get(0)), dirs.get(survivors.get(1))));
    for (String name : survivors) {
      Map<String, Integer> seen = entries(dirs.get(name));
      assertThat(seen.keySet()).as("every acknowledged entry on " + name).containsAll(acked).containsAll(acked2);
      assertThat(seen.values()).as("each once on " + name).allMatch(c -> c == 1);
    }

    // the old writer comes back with an empty directory: a snapshot, then it follows
    try (Stream<Path> walk = Files.walk(dirs.get(writer))) {
      walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
    start(writer);
    Fixtures.await("three in sync again", Duration.ofMinutes(2), () -> inSync(survivor, 2));
    Fixtures.await("the returned node identical", Duration.ofMinutes(1),
      () -> Fixtures.sameMemoryFiles(dirs.get(survivors.get(0)), dirs.get(writer)));
    // a copy is ready once it is in sync (what a rolling restart waits for)
    Fixtures.await("the returned node ready, its copy in sync", Duration.ofMinutes(1), () -> {
      try {
        HttpResponse<String> r = TestHub.get(nodes.get(writer).url() + "/health/ready");
        return r.statusCode() == 200 && new JsonObject(r.body()).getJsonObject("checks").getString("memory-copy")
          .equals("UP");
      } catch (Exception e) {
        return false;
      }
    });

    // the dashboard lists the copies with their state and progress
    if (Browser.available()) {
      try (Browser browser = Browser.open(survivor.url() + "/", Files.createTempDirectory("agenthub-chromium"))) {
        Fixtures.await("the dashboard shows three copies in sync", Duration.ofMinutes(1), () -> {
          try {
            return "writer,following,following".equals(browser.eval("[...document.querySelectorAll('#memory "
              + "[data-replica]')].map(e => e.dataset.state).sort((a, b) => a === 'writer' ? -1 : b === 'writer' ? 1 "
              + ": a.localeCompare(b)).join(',')"));
          } catch (Exception e) {
            return false;
          }
        });
      }
    }
  }
}
