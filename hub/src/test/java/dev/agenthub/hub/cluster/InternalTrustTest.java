package dev.agenthub.hub.cluster;

import dev.agenthub.hub.HubNode;
import dev.agenthub.hub.TestHub;
import dev.agenthub.memory.MemoryAddresses;
import dev.agenthub.memory.MemoryClient;
import dev.agenthub.protocol.MessageAuth;
import dev.agenthub.protocol.Turn;
import dev.agenthub.testing.Fixtures;
import dev.agenthub.testing.HubYaml;

import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

/**
 * Two real nodes on loopback Hazelcast; what one node sends is captured as it leaves (what a sniffer
 * on an event bus without TLS sees) and sent again from the other node, as an attacker would: on the
 * same address, on another address, unsigned, and with a body of its own. Each is refused and
 * counted ({@code agenthub_refused_total{reason="identity"}}); the real traffic is answered.
 */
class InternalTrustTest {

  /** A message as it left a node: address, headers, body. */
  private record Sniffed(String address, MultiMap headers, Object body) {
  }

  @Test
  void aSniffedInternalMessageCannotBeReplayedNorForged() throws Exception {
    String cluster = "trust-" + UUID.randomUUID();
    int port = Fixtures.randomBasePort();
    Path dir = Fixtures.freshDir();
    String extra = HubYaml.clusterYaml(cluster, port) + HubYaml.memoryYaml(dir);
    HubNode writer = TestHub.start(HubYaml.yamlWithNode(HubYaml.node("t1", "general"), 0, extra));
    HubNode other = null;
    try {
      Fixtures.await("t1 is ready", Duration.ofSeconds(60), () -> ready(writer));
      other = TestHub.start(HubYaml.yamlWithNode(HubYaml.node("t2", "general"), 0, extra));
      HubNode sender = other;
      Fixtures.await("both nodes see each other", Duration.ofSeconds(60),
        () -> writer.view().nodes().size() == 2 && sender.view().nodes().size() == 2
          && !sender.view().on("t1").isEmpty());

      // the sniffer: everything t2 sends to memory or to an agent instance on t1
      Map<String, Sniffed> sniffed = new ConcurrentHashMap<>();
      sender.vertx().eventBus().addOutboundInterceptor(ctx -> {
        String address = ctx.message().address();
        if (address.equals(MemoryAddresses.WRITE) || address.endsWith("@t1")) {
          sniffed.putIfAbsent(address, new Sniffed(address, MultiMap.caseInsensitiveMultiMap()
            .addAll(ctx.message().headers()), ctx.body()));
        }
        ctx.next();
      });

      // the real traffic: an agent's write from t2, and a turn t2's dispatcher sends to an instance on t1
      new MemoryClient(sender.vertx(), sender.signer("support"), 30_000)
        .append("agents/support/trust.md", "support", "the real entry").await(60, TimeUnit.SECONDS);
      NodeEntry.Placement onT1 = sender.view().on("t1").get(0);
      String instance = Turn.address(onT1.agent(), onT1.id());
      JsonObject turn = Turn.Request.of("trust-1", "hello").build().toJson();
      sender.vertx().eventBus().request(instance, turn,
        sender.signer(MessageAuth.nodePrincipal("t2")).sign(instance, turn, null)).await(60, TimeUnit.SECONDS);
      Fixtures.await("both messages seen leaving t2", Duration.ofSeconds(30),
        () -> sniffed.containsKey(MemoryAddresses.WRITE) && sniffed.containsKey(instance));
      Sniffed write = sniffed.get(MemoryAddresses.WRITE);
      Sniffed sniffedTurn = sniffed.get(instance);
      assertThat(write.headers().get(MessageAuth.HEADER)).as("signed, and nothing else carries who asks").isNotNull();
      assertThat(((JsonObject) write.body()).fieldNames()).doesNotContain("agent", "agent_token");
      assertThat(sniffedTurn.headers().names()).doesNotContain("agenthub-identity");

      double before = refused(writer) + refused(sender);
      var attacker = writer.vertx().eventBus();
      // replayed as it was, from another member: on the same address, and the turn on its own instance
      assertThat(status(attacker.request(write.address(), write.body(), options(write.headers()))))
        .as("a write replayed").isEqualTo(403);
      assertThat(status(attacker.request(sniffedTurn.address(), sniffedTurn.body(), options(sniffedTurn.headers()))))
        .as("a turn replayed").isEqualTo(403);
      // on another address: the turn's signature on another instance, the write's on memory.read
      NodeEntry.Placement elsewhere = sender.view().placements().stream()
        .filter(p -> !Turn.address(p.agent(), p.id()).equals(instance)).findFirst().orElseThrow();
      assertThat(status(attacker.request(Turn.address(elsewhere.agent(), elsewhere.id()), sniffedTurn.body(),
        options(sniffedTurn.headers())))).as("a turn replayed to another instance").isEqualTo(403);
      assertThat(status(attacker.request(MemoryAddresses.READ, new JsonObject().put("path", "agents/support/trust.md"),
        options(write.headers())))).as("a signature on another address").isEqualTo(403);
      // the write's signature on a body of the attacker's own
      JsonObject forged = ((JsonObject) write.body()).copy().put("text", "forged").put("write_id", "x");
      assertThat(status(attacker.request(MemoryAddresses.WRITE, forged, options(write.headers()))))
        .as("another body").isEqualTo(403);
      // unsigned and under another secret
      assertThat(status(attacker.request(MemoryAddresses.WRITE, forged))).as("unsigned").isEqualTo(403);
      MessageAuth.Signer stranger = MessageAuth.Signer.of("not-the-secret".getBytes(StandardCharsets.UTF_8), "support");
      assertThat(status(attacker.request(MemoryAddresses.WRITE, forged, stranger.sign(MemoryAddresses.WRITE, forged,
        null)))).as("another secret").isEqualTo(403);
      // an agent's key cannot start a turn (only a node's dispatcher can), nor enable a key, nor post figures
      JsonObject turn2 = Turn.Request.of("trust-2", "hi").build().toJson();
      assertThat(status(attacker.request(instance, turn2, writer.signer("support").sign(instance, turn2, null))))
        .as("a turn signed by an agent").isEqualTo(403);
      JsonObject enable = new JsonObject().put("provider", "sim").put("key", "a");
      assertThat(status(attacker.request("governor.keys.enable", enable, writer.signer("support")
        .sign("governor.keys.enable", enable, null)))).as("an admin action signed by an agent").isEqualTo(403);
      attacker.publish("dashboard.stats", new JsonObject().put("node", "ghost").put("messages", 1e9));

      Fixtures.await("the refusals are counted", Duration.ofSeconds(30), () -> refused(writer) + refused(sender) >= before + 10);
      assertThat(Files.readString(dir.resolve("agents/support/trust.md"))).containsOnlyOnce("the real entry")
        .doesNotContain("forged");
    } finally {
      if (other != null) {
        other.close().await(1, TimeUnit.MINUTES);
      }
      writer.close().await(1, TimeUnit.MINUTES);
    }
  }

  private static DeliveryOptions options(MultiMap headers) {
    DeliveryOptions options = new DeliveryOptions().setSendTimeout(30_000);
    headers.forEach(h -> options.addHeader(h.getKey(), h.getValue()));
    return options;
  }

  private static boolean ready(HubNode node) {
    try {
      return TestHub.get(node.url() + "/health/ready").statusCode() == 200;
    } catch (Exception e) {
      return false;
    }
  }

  private static int status(Future<?> reply) {
    Throwable err = catchThrowable(() -> reply.await(60, TimeUnit.SECONDS));
    return err instanceof ReplyException re ? re.failureCode() : err == null ? 200 : -1;
  }

  /** {@code agenthub_refused_total{reason="identity"}} on a node. */
  private static double refused(HubNode node) {
    try {
      for (String line : TestHub.get(node.url() + "/metrics").body().split("\n")) {
        if (line.startsWith("agenthub_refused_total{reason=\"identity\"}")) {
          return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
        }
      }
      return 0;
    } catch (Exception e) {
      return -1;
    }
  }
}
