package dev.agenthub.hub.gateway;

import dev.agenthub.hub.HubNode;
import dev.agenthub.hub.TestHub;
import dev.agenthub.protocol.MessageAuth;
import dev.agenthub.protocol.Turn;
import dev.agenthub.testing.Fixtures;
import dev.agenthub.testing.HubYaml;

import io.vertx.core.Future;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** Ordering, back-pressure and shutdown of a real node. */
class NodeBehaviourTest {

  @Test
  void turnsOfOneSessionAreAnsweredInArrivalOrderWhileOtherSessionsRun() throws Exception {
    HubNode node = TestHub.start(HubYaml.yaml("order1", 5, ""));
    try {
      String address = Turn.address("ops", "ops-0@order1");
      // turns on an instance's address are signed by a node, each once
      MessageAuth.Signer asNode = node.signer(MessageAuth.nodePrincipal("order1"));
      List<Future<Message<JsonObject>>> replies = new ArrayList<>();
      for (int i = 1; i <= 50; i++) {
        JsonObject turn = Turn.Request.of("ordered", "m" + i).build().toJson();
        replies.add(node.vertx().eventBus().request(address, turn, asNode.sign(address, turn, null)));
        // another session interleaved, so the instance really runs turns concurrently
        JsonObject other = Turn.Request.of("other-" + i, "x" + i).build().toJson();
        replies.add(node.vertx().eventBus().request(address, other, asNode.sign(address, other, null)));
      }
      Future.all(replies).await(1, TimeUnit.MINUTES);
      for (int i = 1; i <= 50; i++) {
        String reply = replies.get(2 * (i - 1)).result().body().getString("reply");
        assertThat(reply).contains("\"m" + i + "\"");
        // the sim counts the user turns it sees; the instance keeps the last 20 turns in RAM
        int seen = Math.min(i, 21);
        if (seen > 1) {
          assertThat(reply).contains("message " + seen + " of our conversation");
        }
      }
    } finally {
      node.close().await(1, TimeUnit.MINUTES);
    }
  }

  @Test
  void aRestartedNodePicksSessionsUpFromTheirTranscripts() throws Exception {
    Path dir = Fixtures.freshDir();
    String yaml = HubYaml.yamlWithNode(HubYaml.node("again1", "general"), 0, HubYaml.memoryYaml(dir));
    HubNode first = TestHub.start(yaml);
    try {
      for (String text : new String[]{"my name is Ada", "I live in Lyon"}) {
        assertThat(TestHub.post(first.url() + "/v1/agents/support/messages",
          new JsonObject().put("session", "ada").put("text", text).encode()).statusCode()).isEqualTo(200);
      }
    } finally {
      first.close().await(1, TimeUnit.MINUTES);
    }
    HubNode second = TestHub.start(yaml);
    try {
      HttpResponse<String> r = TestHub.post(second.url() + "/v1/agents/support/messages",
        new JsonObject().put("session", "ada").put("text", "what do you know about me?").encode());
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(new JsonObject(r.body()).getString("reply")).contains("message 3 of our conversation");
    } finally {
      second.close().await(1, TimeUnit.MINUTES);
    }
  }

  @Test
  void aFullQueueAnswers429WithRetryAfter() throws Exception {
    // one turn at a time, one waiting: a third concurrent message is refused, never dropped
    String yaml = HubYaml.yamlWithNode(HubYaml.node("busy1", "general"), 0, "")
      .replace("providers: { sim: { type: sim, latency-ms: 0 } }",
        "providers: { sim: { type: sim, latency-ms: 0 }, slow: { type: sim, latency-ms: 4000 } }")
      .replace("sim-large: { provider: sim,", "slow-model: { provider: slow, input: 1, output: 1 }\n  sim-large: { provider: sim,")
      .replace("- { id: ops, models: { routine: sim-small, complex: sim-large } }",
        "- { id: ops, models: { routine: slow-model }, limits: { max-concurrent: 1, max-queue: 1 } }");
    HubNode node = TestHub.start(yaml);
    try {
      List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        calls.add(TestHub.HTTP.sendAsync(HttpRequest.newBuilder(URI.create(node.url() + "/v1/agents/ops/messages"))
          .timeout(Duration.ofSeconds(60))
          .POST(HttpRequest.BodyPublishers.ofString(new JsonObject().put("session", "q" + i).put("text", "hi").encode()))
          .build(), HttpResponse.BodyHandlers.ofString()));
      }
      List<Integer> statuses = new ArrayList<>();
      for (var call : calls) {
        HttpResponse<String> r = call.get(1, TimeUnit.MINUTES);
        statuses.add(r.statusCode());
        if (r.statusCode() == 429) {
          assertThat(r.headers().firstValue("retry-after")).isPresent();
          assertThat(new JsonObject(r.body()).getJsonObject("error").getString("type")).isEqualTo("queue_full");
        }
      }
      assertThat(statuses).containsExactlyInAnyOrder(200, 200, 429);
      assertThat(TestHub.get(node.url() + "/metrics").body())
        .contains("agenthub_messages_total{agent=\"ops\",outcome=\"rejected\"} 1.0");
    } finally {
      node.close().await(1, TimeUnit.MINUTES);
    }
  }

  @Test
  void closingANodeAnswersTheRequestsInFlight() throws Exception {
    HubNode node = TestHub.start(HubYaml.yaml("drain1", 1500, ""));
    CompletableFuture<HttpResponse<String>> inFlight = TestHub.HTTP.sendAsync(
      HttpRequest.newBuilder(URI.create(node.url() + "/v1/agents/support/messages")).timeout(Duration.ofSeconds(60))
        .POST(HttpRequest.BodyPublishers.ofString("{\"session\":\"drain\",\"text\":\"finish me\"}")).build(),
      HttpResponse.BodyHandlers.ofString());
    Fixtures.await("the turn is running", Duration.ofSeconds(30), () -> {
      try {
        return TestHub.get(node.url() + "/metrics").body().contains("agenthub_queue_depth{agent=\"support\"} 1.0");
      } catch (Exception e) {
        return false;
      }
    });
    Future<Void> closing = node.close();
    HttpResponse<String> r = inFlight.get(1, TimeUnit.MINUTES);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    assertThat(new JsonObject(r.body()).getString("reply")).contains("finish me");
    closing.await(1, TimeUnit.MINUTES);
  }
}
