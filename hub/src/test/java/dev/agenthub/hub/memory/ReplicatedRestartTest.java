package dev.agenthub.hub.memory;

import dev.agenthub.hub.HubNode;
import dev.agenthub.hub.TestHub;
import dev.agenthub.testing.Fixtures;
import dev.agenthub.testing.HubYaml;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 24, fault 6: a full restart of a three-copy cluster, in every order, with one copy behind
 * (down while the other two took writes). Each time writes resume by themselves, the copy behind
 * catches up (tail or snapshot) and every copy ends byte-identical with every acknowledged entry.
 * While the writer cannot reach enough in-sync copies it says so: {@code memory.writes: "held"} on
 * {@code /v1/cluster} and the readiness check {@code memory-writes} DOWN.
 */
class ReplicatedRestartTest {

  private final String cluster = "restart-" + UUID.randomUUID();
  private final int port = Fixtures.randomBasePort();
  private final Map<String, Path> dirs = new TreeMap<>();
  private final Map<String, HubNode> nodes = new TreeMap<>();
  private final Set<String> acked = new HashSet<>();
  private int written;

  @AfterEach
  void stop() throws Exception {
    for (HubNode n : nodes.values()) {
      n.close().await(1, TimeUnit.MINUTES);
    }
  }

  private void start(String name) throws Exception {
    Path dir = dirs.computeIfAbsent(name, n -> Fixtures.freshDir());
    nodes.put(name, TestHub.start(HubYaml.replicaYaml(name, cluster, port, dir)));
  }

  private void stopNode(String name) throws Exception {
    nodes.remove(name).close().await(1, TimeUnit.MINUTES);
  }

  private static JsonObject memory(HubNode node) {
    try {
      return new JsonObject(TestHub.get(node.url() + "/v1/cluster").body()).getJsonObject("memory");
    } catch (Exception e) {
      return new JsonObject();
    }
  }

  private static String readiness(HubNode node, String check) {
    try {
      HttpResponse<String> r = TestHub.get(node.url() + "/health/ready");
      return new JsonObject(r.body()).getJsonObject("checks").getString(check);
    } catch (Exception e) {
      return null;
    }
  }

  private static long following(JsonObject memory) {
    JsonArray replicas = memory.getJsonArray("replicas", new JsonArray());
    return replicas.stream().map(JsonObject.class::cast).filter(r -> r.getString("state").equals("following")).count();
  }

  /** Appends {@code n} entries through every live node; each must be acknowledged. */
  private void write(int n) throws Exception {
    for (int i = 0; i < n; i++) {
      for (HubNode node : nodes.values()) {
        String text = "e-" + (written++);
        Fixtures.await("append " + text + " acknowledged", Duration.ofMinutes(2), () -> {
          try {
            return TestHub.post(node.url() + "/v1/memory/shared/log-" + (written % 3) + ".md",
              new JsonObject().put("author", "t").put("text", text).encode()).statusCode() == 200;
          } catch (Exception e) {
            return false;
          }
        });
        acked.add(text);
      }
    }
  }

  private void awaitAllInSync() throws Exception {
    HubNode any = nodes.values().iterator().next();
    Fixtures.await("writes ok and two copies following", Duration.ofMinutes(3), () -> {
      JsonObject m = memory(any);
      return "ok".equals(m.getString("writes")) && following(m) == 2;
    });
    for (HubNode n : nodes.values()) {
      Fixtures.await("memory-writes UP on " + n.url(), Duration.ofMinutes(1),
        () -> "UP".equals(readiness(n, "memory-writes")));
    }
  }

  private void assertCopiesWhole() throws Exception {
    List<String> names = new ArrayList<>(dirs.keySet());
    for (String other : names.subList(1, names.size())) {
      Fixtures.await("copy " + other + " byte-identical to " + names.get(0), Duration.ofMinutes(2),
        () -> Fixtures.sameMemoryFiles(dirs.get(names.get(0)), dirs.get(other)));
    }
    for (String name : names) {
      Map<String, Integer> seen = new TreeMap<>();
      for (byte[] file : Fixtures.memoryFiles(dirs.get(name)).values()) {
        for (String line : new String(file).split("\n")) {
          if (line.matches("e-\\d+")) {
            seen.merge(line, 1, Integer::sum);
          }
        }
      }
      assertThat(seen.keySet()).as("every acknowledged entry on " + name).containsAll(acked);
      assertThat(seen.values()).as("each once on " + name).allMatch(c -> c == 1);
    }
  }

  @Test
  void aFullRestartInEveryOrderWithOneCopyBehindResumesWrites() throws Exception {
    List<String> names = List.of("r1", "r2", "r3");
    for (String name : names) {
      start(name);
    }
    awaitAllInSync();
    write(2);

    List<List<String>> orders = List.of(List.of("r1", "r2", "r3"), List.of("r1", "r3", "r2"),
      List.of("r2", "r1", "r3"), List.of("r2", "r3", "r1"), List.of("r3", "r1", "r2"), List.of("r3", "r2", "r1"));
    for (int round = 0; round < orders.size(); round++) {
      List<String> order = orders.get(round);
      // the copy behind: the one started first in half the rounds, the one started last in the others
      String behind = round % 2 == 0 ? order.get(0) : order.get(2);
      stopNode(behind);
      write(2); // the two others go on without it
      AtomicReference<String> found = new AtomicReference<>();
      Fixtures.await("a writer among the two", Duration.ofMinutes(2), () -> {
        JsonObject m = memory(nodes.values().iterator().next());
        found.set(m.getString("writer"));
        return found.get() != null && nodes.containsKey(found.get()) && "ok".equals(m.getString("writes"));
      });
      String writer = found.get();
      String follower = nodes.keySet().stream().filter(n -> !n.equals(writer)).findFirst().orElseThrow();
      stopNode(follower);
      HubNode alone = nodes.get(writer);
      if (round == 0) {
        // alone, the writer cannot reach an in-sync copy: it says so instead of waiting silently
        Fixtures.await("writes held on /v1/cluster", Duration.ofMinutes(1),
          () -> "held".equals(memory(alone).getString("writes")));
        Fixtures.await("memory-writes DOWN", Duration.ofMinutes(1),
          () -> "DOWN".equals(readiness(alone, "memory-writes")));
      }
      stopNode(writer);

      for (String name : order) {
        start(name);
      }
      awaitAllInSync();
      write(1);
      assertCopiesWhole();
    }
  }
}
