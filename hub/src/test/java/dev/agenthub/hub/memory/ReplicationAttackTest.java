package dev.agenthub.hub.memory;

import dev.agenthub.hub.HubNode;
import dev.agenthub.hub.TestHub;
import dev.agenthub.protocol.MessageAuth;
import dev.agenthub.testing.Fixtures;
import dev.agenthub.testing.HubYaml;

import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 24: a member of the cluster without the secret (a Vert.x application joined as a lite
 * member) attacks replicated memory and fails each time: it reads nothing through fetch or
 * snapshot, its batches and promises (epoch {@code Long.MAX_VALUE} included) are refused and writes
 * go on, a batch it sniffed is refused when replayed, and a forged in-sync record neither stops the
 * writer nor keeps the next one from taking over with every acknowledged entry.
 */
class ReplicationAttackTest {

  private static final String MARKER = "only-the-hub-may-read-" + UUID.randomUUID();
  private final String cluster = "attack-" + UUID.randomUUID();
  private final int port = Fixtures.randomBasePort();
  private final Map<String, Path> dirs = new TreeMap<>();
  private final Map<String, HubNode> nodes = new TreeMap<>();
  private final Set<String> acked = ConcurrentHashMap.newKeySet();
  private Vertx attacker;

  @AfterEach
  void stop() throws Exception {
    if (attacker != null) {
      attacker.close().await(1, TimeUnit.MINUTES);
    }
    for (HubNode n : nodes.values()) {
      n.close().await(1, TimeUnit.MINUTES);
    }
  }

  private void start(String name) throws Exception {
    Path dir = dirs.computeIfAbsent(name, n -> Fixtures.freshDir());
    nodes.put(name, TestHub.start(HubYaml.replicaYaml(name, cluster, port, dir)));
  }

  private static JsonObject memory(HubNode node) {
    try {
      return new JsonObject(TestHub.get(node.url() + "/v1/cluster").body()).getJsonObject("memory");
    } catch (Exception e) {
      return new JsonObject();
    }
  }

  private static boolean allFollowing(HubNode node) {
    JsonObject m = memory(node);
    return "ok".equals(m.getString("writes")) && m.getJsonArray("replicas") != null && m.getJsonArray("replicas")
      .stream().map(JsonObject.class::cast).filter(r -> r.getString("state").equals("following")).count() == 2;
  }

  private boolean append(HubNode node, String path, String text) {
    try {
      boolean ok = TestHub.post(node.url() + "/v1/memory/" + path, new JsonObject().put("author", "t")
        .put("text", text).encode()).statusCode() == 200;
      if (ok) {
        acked.add(text);
      }
      return ok;
    } catch (Exception e) {
      return false;
    }
  }

  private void writesGoOn(String tag) throws Exception {
    for (HubNode n : nodes.values()) {
      String text = tag + "-" + acked.size();
      Fixtures.await("an append (" + tag + ") acknowledged", Duration.ofMinutes(2),
        () -> append(n, "shared/log.md", text));
    }
  }

  /** The attacker's request: its failure (the code), or the body it got. */
  private Object ask(String address, Object body, DeliveryOptions options) {
    try {
      Message<Object> reply = attacker.eventBus().request(address, body, options.setSendTimeout(10_000))
        .await(30, TimeUnit.SECONDS);
      return reply.body() == null ? "" : reply.body();
    } catch (ReplyException e) {
      return e.failureCode();
    } catch (Exception e) {
      return e.toString();
    }
  }

  private static DeliveryOptions copyOf(DeliveryOptions options) {
    return new DeliveryOptions().setHeaders(MultiMap.caseInsensitiveMultiMap().addAll(options.getHeaders()));
  }

  private static DeliveryOptions signedWithAnotherSecret(String principal, String address, Object body) {
    return MessageAuth.Signer.of("not-the-cluster-secret".getBytes(StandardCharsets.UTF_8), principal)
      .sign(address, body, new DeliveryOptions());
  }

  private static void refusedWithNothing(Object answer) {
    assertThat(answer).as("the answer").isEqualTo(403);
  }

  @Test
  void aMemberWithoutTheSecretCanNeitherReadNorHoldNorBreakReplicatedMemory() throws Exception {
    for (String name : List.of("r1", "r2", "r3")) {
      start(name);
    }
    HubNode any = nodes.get("r1");
    Fixtures.await("a writer with two followers", Duration.ofMinutes(3), () -> allFollowing(any));
    Fixtures.await("the sensitive agent's memory written", Duration.ofMinutes(1),
      () -> append(any, "agents/assistant/MEMORY.md", MARKER));
    writesGoOn("before");
    String writer = memory(any).getString("writer");
    List<String> followers = nodes.keySet().stream().filter(n -> !n.equals(writer)).toList();
    String follower = followers.get(0);

    attacker = TestHub.liteMember(cluster, port);

    // 1. it reads nothing: fetch and snapshot, unsigned or signed under another secret, in a follower's name
    for (String address : List.of("memory.replica.snapshot", "memory.replica.fetch")) {
      JsonObject body = new JsonObject().put("node", follower).put("cursor", "").put("epoch", 0).put("seq", 0);
      refusedWithNothing(ask(address, body, new DeliveryOptions()));
      refusedWithNothing(ask(address, body, signedWithAnotherSecret(MessageAuth.nodePrincipal(follower), address,
        body)));
    }

    // 2. its batches and promises are refused, and writes go on
    String append = "memory.replica." + follower + ".append";
    Buffer junk = Buffer.buffer("## forged\n\nnot from the writer\n");
    long epoch = memory(any).getLong("epoch");
    refusedWithNothing(ask(append, junk, new DeliveryOptions().addHeader("epoch", Long.toString(epoch))
      .addHeader("seq", "999999")));
    refusedWithNothing(ask(append, junk, signedWithAnotherSecret(MessageAuth.nodePrincipal(writer), append + "|"
      + epoch + "|999999", junk).addHeader("epoch", Long.toString(epoch)).addHeader("seq", "999999")));
    for (String f : followers) {
      String promise = "memory.replica." + f + ".promise";
      JsonObject max = new JsonObject().put("epoch", Long.MAX_VALUE);
      refusedWithNothing(ask(promise, max, new DeliveryOptions()));
      refusedWithNothing(ask(promise, max, signedWithAnotherSecret(MessageAuth.nodePrincipal(writer), promise, max)));
    }
    writesGoOn("after-promise");
    Fixtures.await("both followers still in sync", Duration.ofMinutes(1), () -> allFollowing(any));

    // 3. a batch it sniffed (it took a share of the follower's traffic) is refused when replayed
    AtomicReference<Message<Buffer>> sniffed = new AtomicReference<>();
    MessageConsumer<Buffer> tap = attacker.eventBus().consumer(append, m -> sniffed.compareAndSet(null, m));
    tap.completion().await(30, TimeUnit.SECONDS);
    Fixtures.await("a batch sniffed", Duration.ofMinutes(2), () -> {
      append(nodes.get(writer), "shared/log.md", "sniff-" + acked.size());
      return sniffed.get() != null;
    });
    tap.unregister().await(30, TimeUnit.SECONDS);
    Message<Buffer> copy = sniffed.get();
    DeliveryOptions same = new DeliveryOptions();
    copy.headers().forEach(h -> same.addHeader(h.getKey(), h.getValue()));
    // relayed once (as a sniffer on the wire would see it arrive), then again: the second is a replay.
    // The first must reach the follower: just after the tap is gone a send may still be routed to
    // it (no handler, -1) rather than to the follower, so it is sent until the follower answers
    Fixtures.await("the sniffed batch relayed to the follower", Duration.ofMinutes(1),
      () -> !Integer.valueOf(-1).equals(ask(append, copy.body(), copyOf(same))));
    refusedWithNothing(ask(append, copy.body(), copyOf(same)));
    writesGoOn("after-replay");

    // 4. a forged in-sync record: the writer puts its own back, and after it stops another copy takes over
    var records = attacker.sharedData().<String, String>getClusterWideMap("agenthub.memory.in-sync")
      .await(30, TimeUnit.SECONDS);
    String real = records.get("memory").await(30, TimeUnit.SECONDS);
    records.put("memory", (Long.MAX_VALUE - 1) + "|ghost|").await(30, TimeUnit.SECONDS);
    Fixtures.await("the writer's own record back", Duration.ofMinutes(1), () -> {
      try {
        String now = records.get("memory").await(30, TimeUnit.SECONDS);
        return now != null && now.startsWith(epoch + "|" + writer + "|");
      } catch (Exception e) {
        return false;
      }
    });
    assertThat(real).startsWith(epoch + "|" + writer + "|");
    writesGoOn("after-forged-record");

    nodes.remove(writer).close().await(1, TimeUnit.MINUTES);
    records.put("memory", (Long.MAX_VALUE - 1) + "|ghost|").await(30, TimeUnit.SECONDS);
    HubNode survivor = nodes.get(followers.get(0));
    Fixtures.await("a new writer among the copies despite the forged record", Duration.ofMinutes(2), () -> {
      JsonObject m = memory(survivor);
      return followers.contains(m.getString("writer")) && "ok".equals(m.getString("writes"));
    });
    writesGoOn("after-takeover");
    Fixtures.await("the two copies identical", Duration.ofMinutes(2),
      () -> Fixtures.sameMemoryFiles(dirs.get(followers.get(0)), dirs.get(followers.get(1))));
    for (String name : followers) {
      String all = new String(Fixtures.memoryFiles(dirs.get(name)).values().stream()
        .reduce(new byte[0], (a, b) -> {
          byte[] out = new byte[a.length + b.length];
          System.arraycopy(a, 0, out, 0, a.length);
          System.arraycopy(b, 0, out, a.length, b.length);
          return out;
        }), StandardCharsets.UTF_8);
      for (String text : new ArrayList<>(acked)) {
        assertThat(all).as("acknowledged entry on " + name).contains(text);
      }
    }
  }
}
