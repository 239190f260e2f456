package dev.agenthub.hub.gateway;

import dev.agenthub.client.AgentHubClient;
import dev.agenthub.client.AgentHubException;
import dev.agenthub.client.Reply;
import dev.agenthub.hub.HubNode;
import dev.agenthub.hub.TestHub;
import dev.agenthub.protocol.EventBusApi;
import dev.agenthub.testing.Fixtures;
import dev.agenthub.testing.HubYaml;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The event-bus door with real parts: two clustered hub nodes, and an application that joins their
 * cluster as a Hazelcast lite member (built here as a user would, from the contract) and talks to
 * agents with the client library and with plain event-bus requests.
 */
class EventBusDoorTest {

  private static String sha256(String s) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes()));
  }

  private static int nodes(HubNode node) {
    try {
      return new JsonObject(TestHub.get(node.url() + "/v1/cluster", "admin-token").body()).getJsonArray("nodes").size();
    } catch (Exception e) {
      return -1;
    }
  }

  private static double refusedAuth(HubNode node) {
    try {
      for (String line : TestHub.get(node.url() + "/metrics", "admin-token").body().split("\n")) {
        if (line.startsWith("agenthub_refused_total{reason=\"auth\"}")) {
          return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
        }
      }
      return 0;
    } catch (Exception e) {
      return -1;
    }
  }

  @Test
  void anApplicationInTheClusterTalksToAgentsUnderTheSameRulesAsHttp() throws Exception {
    String cluster = "door-" + UUID.randomUUID();
    int port = Fixtures.randomBasePort();
    String extra = HubYaml.clusterYaml(cluster, port) + HubYaml.memoryYaml(Fixtures.freshDir()) + """
      clients:
        - { id: app, token-sha256: %s, agents: [support] }
        - { id: admin, token-sha256: %s, agents: "*", admin: true }
      """.formatted(sha256("app-token"), sha256("admin-token"));
    HubNode a = TestHub.start(HubYaml.yamlWithNode(HubYaml.node("door-a", "general"), 0, extra));
    HubNode b = null;
    Vertx app = null;
    try {
      b = TestHub.start(HubYaml.yamlWithNode(HubYaml.node("door-b", "general"), 0, extra));
      HubNode nb = b;
      Fixtures.await("both nodes see each other", Duration.ofSeconds(60), () -> nodes(a) == 2 && nodes(nb) == 2);
      app = TestHub.liteMember(cluster, port);
      AgentHubClient hub = AgentHubClient.create(app, new AgentHubClient.Options().setToken("app-token"));

      // hundreds of messages over a few dozen sessions, every one answered by the session's owner
      List<Future<Reply>> all = new ArrayList<>();
      for (int i = 0; i < 300; i++) {
        all.add(hub.send("support", "eb-" + (i % 40), "parcel question " + i));
      }
      Future.all(all).await(3, TimeUnit.MINUTES);
      for (int i = 0; i < all.size(); i++) {
        assertThat(all.get(i).result().text()).contains("parcel question " + i);
      }
      // both nodes serve the address, and the session stays with one instance whichever node took it
      assertThat(all.stream().filter(f -> f.result().session().equals("eb-7"))
        .map(f -> f.result().json().getString("instance")).distinct()).hasSize(1);

      // the application is not a node: not listed, no agent instance placed on it
      JsonObject view = new JsonObject(TestHub.get(a.url() + "/v1/cluster", "admin-token").body());
      assertThat(view.getJsonArray("nodes")).hasSize(2);
      assertThat(view.getJsonArray("placements").stream().map(p -> ((JsonObject) p).getString("node")))
        .containsOnly("door-a", "door-b");

      // the same rules as HTTP: a token limited to support gets 403 elsewhere, an unknown one 401
      assertThatThrownBy(() -> hub.send("ops", "eb-x", "hi").await(30, TimeUnit.SECONDS))
        .isInstanceOfSatisfying(AgentHubException.class, e -> assertThat(e.status()).isEqualTo(403));
      AgentHubClient stranger = AgentHubClient.create(app, new AgentHubClient.Options().setToken("guess"));
      assertThatThrownBy(() -> stranger.send("support", "eb-x", "hi").await(30, TimeUnit.SECONDS))
        .isInstanceOfSatisfying(AgentHubException.class, e -> {
          assertThat(e.status()).isEqualTo(401);
          assertThat(e.type()).isEqualTo("authentication_error");
        });
      AgentHubClient anonymous = AgentHubClient.create(app, new AgentHubClient.Options());
      assertThatThrownBy(() -> anonymous.send("support", "eb-x", "hi").await(30, TimeUnit.SECONDS))
        .isInstanceOfSatisfying(AgentHubException.class, e -> assertThat(e.status()).isEqualTo(401));

      // refused as on HTTP: counted (and audited) on whichever node took the message
      HubNode nodeB = b;
      Fixtures.await("the refusals are counted", Duration.ofSeconds(30),
        () -> refusedAuth(a) + refusedAuth(nodeB) >= 3);

      // a session belongs to its client: the admin's "eb-7" is another session than the app's
      AgentHubClient admin = AgentHubClient.create(app, new AgentHubClient.Options().setToken("admin-token"));
      assertThat(admin.send("support", "eb-7", "who am I").await(30, TimeUnit.SECONDS).text())
        .doesNotContain("of our conversation"); // a first message: the sim numbers only later ones

      // an idempotency key makes a resend answer the first reply, not a second turn
      Reply first = hub.send("support", new AgentHubClient.Request("eb-idem", "charge once", "k-1", null))
        .await(30, TimeUnit.SECONDS);
      Reply again = hub.send("support", new AgentHubClient.Request("eb-idem", "charge once", "k-1", null))
        .await(30, TimeUnit.SECONDS);
      assertThat(again.json()).isEqualTo(first.json());

      // streaming: the deltas come before the reply and put together are its text (a first stream lets
      // the nodes learn the app's stream address: until they do, its deltas are filled in from the reply)
      hub.stream("support", new AgentHubClient.Request("eb-warm", "warm up")).reply().await(30, TimeUnit.SECONDS);
      AgentHubClient.DeltaStream stream = hub.stream("support", new AgentHubClient.Request("eb-stream", "tell me more"));
      StringBuilder pieces = new StringBuilder();
      int[] count = {0};
      Promise<Void> ended = Promise.promise();
      stream.handler(t -> {
        count[0]++;
        pieces.append(t);
      }).endHandler(v -> ended.complete()).exceptionHandler(ended::fail);
      ended.future().await(1, TimeUnit.MINUTES);
      Reply streamed = stream.reply().await(10, TimeUnit.SECONDS);
      assertThat(pieces.toString()).isEqualTo(streamed.text());
      assertThat(count[0]).isGreaterThan(3);

      // the plain contract, without the client library: JSON in, the HTTP reply object out; a bad
      // request fails with the HTTP status as failure code and the JSON error object as message
      JsonObject raw = app.eventBus().<JsonObject>request(EventBusApi.address("support"),
          new JsonObject().put("session", "eb-raw").put("text", "plain request"),
          new DeliveryOptions().addHeader("authorization", "Bearer app-token")).await(30, TimeUnit.SECONDS).body();
      assertThat(raw.getString("reply")).contains("plain request");
      assertThat(raw.getJsonObject("usage").getLong("output_tokens")).isPositive();
      Vertx client = app;
      assertThatThrownBy(() -> client.eventBus().request(EventBusApi.address("support"),
          new JsonObject().put("session", "eb-raw"), new DeliveryOptions().addHeader("authorization", "Bearer app-token"))
        .await(30, TimeUnit.SECONDS))
        .isInstanceOfSatisfying(ReplyException.class, e -> {
          assertThat(e.failureCode()).isEqualTo(400);
          JsonObject error = new JsonObject(e.getMessage()).getJsonObject("error");
          assertThat(error.getString("param")).isEqualTo("text");
          assertThat(error.getString("type")).isEqualTo("invalid_request_error");
        });
      assertThatThrownBy(() -> client.eventBus().request(EventBusApi.address("support"), "not json",
          new DeliveryOptions().addHeader("authorization", "Bearer app-token")).await(30, TimeUnit.SECONDS))
        .isInstanceOfSatisfying(ReplyException.class, e -> assertThat(e.failureCode()).isEqualTo(400));

      // the application leaves: nothing changes for the hub
      app.close().await(1, TimeUnit.MINUTES);
      app = null;
      HttpResponse<String> after = TestHub.send("POST", b.url() + "/v1/agents/support/messages",
        "{\"session\":\"after\",\"text\":\"still here?\"}", "app-token");
      assertThat(after.statusCode()).as(after.body()).isEqualTo(200);
      assertThat(nodes(a)).isEqualTo(2);
    } finally {
      if (app != null) {
        app.close().await(1, TimeUnit.MINUTES);
      }
      if (b != null) {
        b.close().await(1, TimeUnit.MINUTES);
      }
      a.close().await(1, TimeUnit.MINUTES);
    }
  }
}
