package dev.agenthub.hub.cluster;

import dev.agenthub.hub.HubNode;
import dev.agenthub.hub.TestHub;
import dev.agenthub.memory.MemoryClient;
import dev.agenthub.memory.MemoryPolicy;
import dev.agenthub.testing.Fixtures;
import dev.agenthub.testing.HubYaml;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Two real Hazelcast members on 127.0.0.1 in this JVM: any node answers for any agent. */
class ClusterTest {

  private static int nodeCount(HubNode node) throws Exception {
    return new JsonObject(TestHub.get(node.url() + "/v1/cluster").body()).getJsonArray("nodes").size();
  }

  @Test
  void aGatewayFindsTheAgentOnAnotherNodeAndNoticesWhenItLeaves() throws Exception {
    String cluster = "it-" + UUID.randomUUID();
    int port = Fixtures.randomBasePort();
    // the front node's role matches no agent: every turn it takes must cross the event bus
    String shared = HubYaml.memoryYaml(Fixtures.freshDir());
    HubNode front = TestHub.start(HubYaml.yamlWithNode(HubYaml.node("front", "edge"), 0, HubYaml.clusterYaml(cluster, port) + shared));
    HubNode back = null;
    try {
      back = TestHub.start(HubYaml.yamlWithNode(HubYaml.node("back", "general"), 0, HubYaml.clusterYaml(cluster, port) + shared));
      HubNode b = back;
      Fixtures.await("both nodes see each other", Duration.ofSeconds(60),
        () -> uncheckedCount(front) == 2 && uncheckedCount(b) == 2);

      JsonObject view = new JsonObject(TestHub.get(front.url() + "/v1/cluster").body());
      assertThat(view.getJsonArray("placements")).hasSize(4);
      assertThat(view.getJsonArray("placements").stream().map(p -> ((JsonObject) p).getString("node")))
        .containsOnly("back");

      HttpResponse<String> r = TestHub.post(front.url() + "/v1/agents/support/messages",
        "{\"session\":\"cross\",\"text\":\"hello from the front\"}");
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      JsonObject reply = new JsonObject(r.body());
      assertThat(reply.getString("node")).isEqualTo("back");
      assertThat(reply.getString("reply")).contains("hello from the front");

      // streaming through one node while the agent runs on the other
      OpenAIClient client = OpenAIOkHttpClient.builder().baseUrl(front.url() + "/v1").apiKey("x").build();
      try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(
        ChatCompletionCreateParams.builder().model("ops").user("cross-stream").addUserMessage("status?").build())) {
        StringBuilder text = new StringBuilder();
        AtomicInteger pieces = new AtomicInteger();
        stream.stream().forEach(c -> c.choices().forEach(ch -> ch.delta().content().filter(t -> !t.isEmpty())
          .ifPresent(t -> {
            pieces.incrementAndGet();
            text.append(t);
          })));
        assertThat(text.toString()).contains("status?");
        // the pieces came from the model's stream on the other node, not cut from the final answer
        assertThat(pieces.get()).isGreaterThan(3);
      } finally {
        client.close();
      }

      back.close().await(1, TimeUnit.MINUTES);
      back = null;
      Fixtures.await("the front sees the back node leave", Duration.ofSeconds(60), () -> uncheckedCount(front) == 1);
      HttpResponse<String> none = TestHub.post(front.url() + "/v1/agents/support/messages",
        "{\"session\":\"cross\",\"text\":\"anyone?\"}");
      assertThat(none.statusCode()).isEqualTo(503);
      assertThat(none.headers().firstValue("retry-after")).isPresent();
      assertThat(new JsonObject(none.body()).getJsonObject("error").getString("message")).contains("no live instance");
    } finally {
      if (back != null) {
        back.close().await(1, TimeUnit.MINUTES);
      }
      front.close().await(1, TimeUnit.MINUTES);
    }
  }

  @Test
  void aSecondNodeWithTheSameNameRefusesToStart() throws Exception {
    String cluster = "it-" + UUID.randomUUID();
    int port = Fixtures.randomBasePort();
    HubNode first = TestHub.start(HubYaml.yamlWithNode(HubYaml.node("twin", "general"), 0, HubYaml.clusterYaml(cluster, port)));
    try {
      assertThatThrownBy(() -> TestHub.start(
        HubYaml.yamlWithNode(HubYaml.node("twin", "general"), 0, HubYaml.clusterYaml(cluster, port))))
        .hasMessageContaining("node name 'twin' is already used");
      Fixtures.await("the refused twin is gone", Duration.ofSeconds(60), () -> uncheckedCount(first) == 1);
    } finally {
      first.close().await(1, TimeUnit.MINUTES);
    }
  }

  @Test
  void aStandbyTakesOverTheMemoryWriterAndNoAcknowledgedAppendIsLost() throws Exception {
    String cluster = "it-" + UUID.randomUUID();
    int port = Fixtures.randomBasePort();
    Path dir = Fixtures.freshDir();
    String extra = HubYaml.clusterYaml(cluster, port) + HubYaml.memoryYaml(dir);
    HubNode first = TestHub.start(HubYaml.yamlWithNode(HubYaml.node("m1", "general"), 0, extra));
    HubNode second = null;
    try {
      Fixtures.await("m1 is the writer", Duration.ofSeconds(60), () -> "m1".equals(writer(first)));
      second = TestHub.start(HubYaml.yamlWithNode(HubYaml.node("m2", "general"), 0, extra));
      HubNode standby = second;
      Fixtures.await("m2 sees the writer", Duration.ofSeconds(60), () -> "m1".equals(writer(standby)));

      MemoryClient client =
        new MemoryClient(standby.vertx(), standby.signer(MemoryPolicy.ADMIN), 60_000);
      List<Future<JsonObject>> acks = new ArrayList<>();
      for (int i = 0; i < 200; i++) {
        acks.add(client.append("shared/failover.md", "c", "entry " + i));
        if (i == 100) {
          first.close(); // the writer leaves while appends are in flight
        }
      }
      Future.join(acks).await(2, TimeUnit.MINUTES);
      Fixtures.await("m2 took over", Duration.ofSeconds(60), () -> "m2".equals(writer(standby)));
      String text = client.read("shared/failover.md").await(30, TimeUnit.SECONDS);
      for (int i = 0; i < 200; i++) {
        if (acks.get(i).succeeded()) {
          assertThat(text.split("\n\nentry " + i + "\n\n", -1)).as("entry " + i + " once").hasSize(2);
        }
      }
      assertThat(acks.stream().filter(Future::succeeded).count()).isEqualTo(200);
    } finally {
      if (second != null) {
        second.close().await(1, TimeUnit.MINUTES);
      }
      first.close().await(1, TimeUnit.MINUTES);
    }
  }

  @Test
  void aHeartbeatBeatsOncePerIntervalAcrossTheCluster() throws Exception {
    String cluster = "it-" + UUID.randomUUID();
    int port = Fixtures.randomBasePort();
    Path dir = Fixtures.freshDir();
    Files.createDirectories(dir.resolve("agents/pulse"));
    Files.writeString(dir.resolve("agents/pulse/HEARTBEAT.md"), "- [ ] look at the queue\n");
    String extra = HubYaml.clusterYaml(cluster, port) + HubYaml.memoryYaml(dir);
    Function<String, String> yaml = name -> HubYaml.yamlWithNode(HubYaml.node(name, "general"), 0, extra)
      .replace("- { id: ops,", "- { id: pulse, models: { routine: sim-small }, heartbeat: { every: 1s }, skills: [time.now] }\n  - { id: ops,");
    HubNode a = TestHub.start(yaml.apply("hb1"));
    HubNode b = TestHub.start(yaml.apply("hb2"));
    try {
      Path daily = dir.resolve("agents/pulse/daily/" + LocalDate.now(ZoneOffset.UTC) + ".md");
      Fixtures.await("six beats", Duration.ofMinutes(1), () -> beats(daily).size() >= 6);
      List<Instant> beats = beats(daily);
      for (int i = 1; i < beats.size(); i++) {
        assertThat(Duration.between(beats.get(i - 1), beats.get(i))).as("beat " + i + ": one per interval for both nodes")
          .isGreaterThanOrEqualTo(Duration.ofMillis(900));
      }
    } finally {
      b.close().await(1, TimeUnit.MINUTES);
      a.close().await(1, TimeUnit.MINUTES);
    }
  }

  private static List<Instant> beats(Path file) {
    List<Instant> out = new ArrayList<>();
    try {
      Matcher m = Pattern.compile("(?m)^## (\\S+) heartbeat$")
        .matcher(Files.readString(file));
      while (m.find()) {
        out.add(Instant.parse(m.group(1)));
      }
    } catch (Exception e) {
      // not yet written
    }
    return out;
  }

  static Path[] certificate(String name) throws Exception {
    return Fixtures.certificate(name);
  }

  @Test
  void theEventBusSpeaksTlsAndANodeWithoutTheClustersCertificateCannotTakePart() throws Exception {
    String cluster = "it-" + UUID.randomUUID();
    int port = Fixtures.randomBasePort();
    Path[] good = certificate("agenthub");
    Path[] other = certificate("intruder");
    String memory = HubYaml.memoryYaml(Fixtures.freshDir());
    BiFunction<Path[], String, String> tls = (pair, node) ->
      HubYaml.yamlWithNode(HubYaml.node(node, node.equals("tls-back") ? "general" : "edge")
          .replace("request-timeout: 30s", "request-timeout: 3s"), 0,
        HubYaml.clusterYaml(cluster, port).replace(" }\n", ", tls: { cert: \"" + pair[0] + "\", key: \"" + pair[1]
          + "\", ca: \"" + good[0] + "\" } }\n") + memory);
    HubNode back = TestHub.start(tls.apply(good, "tls-back"));
    HubNode front = null;
    HubNode intruder = null;
    try {
      front = TestHub.start(tls.apply(good, "tls-front"));
      HubNode f = front;
      Fixtures.await("both see each other", Duration.ofSeconds(60), () -> uncheckedCount(f) == 2);
      HttpResponse<String> ok = TestHub.post(front.url() + "/v1/agents/support/messages",
        "{\"session\":\"tls\",\"text\":\"over TLS\"}");
      assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
      assertThat(new JsonObject(ok.body()).getString("node")).isEqualTo("tls-back");

      intruder = TestHub.start(tls.apply(other, "tls-intruder"));
      HubNode i = intruder;
      Fixtures.await("the intruder joined Hazelcast", Duration.ofSeconds(60), () -> uncheckedCount(i) == 3);
      HttpResponse<String> refused = TestHub.post(intruder.url() + "/v1/agents/support/messages",
        "{\"session\":\"tls\",\"text\":\"let me in\"}");
      assertThat(refused.statusCode()).as(refused.body()).isNotEqualTo(200);
    } finally {
      if (intruder != null) {
        intruder.close().await(1, TimeUnit.MINUTES);
      }
      if (front != null) {
        front.close().await(1, TimeUnit.MINUTES);
      }
      back.close().await(1, TimeUnit.MINUTES);
    }
  }

  private static String writer(HubNode node) {
    try {
      return new JsonObject(TestHub.get(node.url() + "/v1/cluster").body()).getJsonObject("memory").getString("writer");
    } catch (Exception e) {
      return null;
    }
  }

  private static int uncheckedCount(HubNode node) {
    try {
      return nodeCount(node);
    } catch (Exception e) {
      return -1;
    }
  }
}
