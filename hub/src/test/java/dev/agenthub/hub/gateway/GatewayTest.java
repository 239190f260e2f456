package dev.agenthub.hub.gateway;

import dev.agenthub.hub.HubNode;
import dev.agenthub.hub.TestHub;
import dev.agenthub.testing.HubYaml;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.net.http.HttpResponse;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The HTTP contract of one node, against a real node on a real port. */
class GatewayTest {

  private static HubNode node;
  private static String url;

  @BeforeAll
  static void start() throws Exception {
    node = TestHub.start(HubYaml.yaml("gw1", 0, ""));
    url = node.url();
  }

  @AfterAll
  static void stop() throws Exception {
    node.close().await(1, TimeUnit.MINUTES);
  }

  private static JsonObject message(String agent, String session, String text) throws Exception {
    HttpResponse<String> r = TestHub.post(url + "/v1/agents/" + agent + "/messages",
      new JsonObject().put("session", session).put("text", text).encode());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    assertThat(r.headers().firstValue("content-type")).hasValue("application/json");
    return new JsonObject(r.body());
  }

  @Test
  void aMessageIsAnsweredWithTheContractFields() throws Exception {
    JsonObject reply = message("support", "s-fields", "What is your refund policy?");
    assertThat(reply.fieldNames()).contains("agent", "session", "instance", "node", "reply", "model", "usage",
      "cost_usd", "cached");
    assertThat(reply.getString("agent")).isEqualTo("support");
    assertThat(reply.getString("session")).isEqualTo("s-fields");
    assertThat(reply.getString("node")).isEqualTo("gw1");
    assertThat(reply.getString("instance")).isIn("support-0@gw1", "support-1@gw1");
    assertThat(reply.getString("model")).isEqualTo("sim-small");
    assertThat(reply.getString("reply")).contains("What is your refund policy?");
    assertThat(reply.getJsonObject("usage").getLong("input_tokens")).isPositive();
    assertThat(reply.getJsonObject("usage").getLong("output_tokens")).isPositive();
    double expected = (reply.getJsonObject("usage").getLong("input_tokens") * 0.15
      + reply.getJsonObject("usage").getLong("output_tokens") * 0.60) / 1_000_000;
    assertThat(reply.getDouble("cost_usd")).isCloseTo(expected, org.assertj.core.data.Offset.offset(1e-12));
    assertThat(reply.getBoolean("cached")).isFalse();
  }

  @Test
  void aSessionKeepsItsConversation() throws Exception {
    message("ops", "s-conv", "first question");
    JsonObject second = message("ops", "s-conv", "second question");
    assertThat(second.getString("reply")).contains("message 2 of our conversation");
    JsonObject other = message("ops", "s-other", "second question");
    assertThat(other.getString("reply")).doesNotContain("message 2");
  }

  @Test
  void agentsListsTrustSkillsModelsAndWhereTheyRun() throws Exception {
    JsonArray agents = new JsonObject(TestHub.get(url + "/v1/agents").body()).getJsonArray("agents");
    assertThat(agents).hasSize(3);
    JsonObject assistant = agents.getJsonObject(2);
    assertThat(assistant.getString("id")).isEqualTo("assistant");
    assertThat(assistant.getString("trust")).isEqualTo("sensitive");
    assertThat(assistant.getJsonObject("models").getString("routine")).isEqualTo("sim-small");
    assertThat(assistant.getJsonArray("running").getJsonObject(0).getString("node")).isEqualTo("gw1");
    assertThat(agents.getJsonObject(0).getJsonArray("skills")).contains("agent.delegate");
  }

  @Test
  void clusterListsThisNodeAndItsPlacements() throws Exception {
    JsonObject cluster = new JsonObject(TestHub.get(url + "/v1/cluster").body());
    JsonObject n = cluster.getJsonArray("nodes").getJsonObject(0);
    assertThat(n.getString("name")).isEqualTo("gw1");
    assertThat(n.getString("address")).isEqualTo(url);
    assertThat(n.getJsonArray("roles")).containsExactly("general");
    assertThat(n.getString("since")).matches("\\d{4}-\\d\\d-\\d\\dT.*Z");
    // support runs 2 instances, ops and assistant 1 each, all on the only node
    assertThat(cluster.getJsonArray("placements")).hasSize(4);
  }

  @Test
  void healthAndMetrics() throws Exception {
    assertThat(TestHub.get(url + "/health/live").statusCode()).isEqualTo(200);
    HttpResponse<String> ready = TestHub.get(url + "/health/ready");
    assertThat(ready.statusCode()).isEqualTo(200);
    assertThat(new JsonObject(ready.body()).getString("status")).isEqualTo("UP");
    message("support", "s-metrics", "count me");
    String metrics = TestHub.get(url + "/metrics").body();
    assertThat(metrics)
      .contains("agenthub_messages_total{agent=\"support\",outcome=\"ok\"}")
      .contains("agenthub_turn_seconds_bucket")
      .contains("agenthub_model_calls_total")
      .contains("agenthub_tokens_total")
      .contains("agenthub_spend_usd_total")
      .contains("agenthub_queue_depth{agent=\"support\"}")
      .contains("vertx_http_server_requests_total")
      .contains("jvm_memory_used_bytes");
  }

  @ParameterizedTest(name = "{0} {1} {2} -> {3}")
  @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
    "POST | /v1/agents/support/messages | {bad json                                   | 400",
    "POST | /v1/agents/support/messages | [1,2]                                       | 400",
    "POST | /v1/agents/support/messages | ``                                          | 400",
    "POST | /v1/agents/support/messages | {\"text\":\"hi\"}                           | 400",
    "POST | /v1/agents/support/messages | {\"session\":42,\"text\":\"hi\"}            | 400",
    "POST | /v1/agents/support/messages | {\"session\":\"../etc\",\"text\":\"hi\"}    | 400",
    "POST | /v1/agents/support/messages | {\"session\":\".hidden\",\"text\":\"hi\"}   | 400",
    "POST | /v1/agents/support/messages | {\"session\":\"a b\",\"text\":\"hi\"}       | 400",
    "POST | /v1/agents/support/messages | {\"session\":\"s\"}                         | 400",
    "POST | /v1/agents/support/messages | {\"session\":\"s\",\"text\":\"\"}           | 400",
    "POST | /v1/agents/support/messages | {\"session\":\"s\",\"text\":[\"hi\"]}       | 400",
    "POST | /v1/agents/support/messages | {\"session\":\"s\",\"text\":\"hi\",\"priority\":\"urgent\"} | 400",
    "POST | /v1/agents/nobody/messages  | {\"session\":\"s\",\"text\":\"hi\"}         | 404",
    "GET  | /v1/nothing-here            | ``                                          | 404",
    "DELETE | /v1/agents                | ``                                          | 405",
    "GET  | /v1/agents/support/messages | ``                                          | 405",
    "POST | /v1/chat/completions        | {\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]} | 400",
    "POST | /v1/chat/completions        | {\"model\":\"nobody\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]} | 404",
    "POST | /v1/chat/completions        | {\"model\":\"support\",\"messages\":\"hi\"}  | 400",
    "POST | /v1/chat/completions        | {\"model\":\"support\",\"messages\":[{\"role\":\"system\",\"content\":\"x\"}]} | 400",
    "POST | /v1/chat/completions        | {\"model\":\"support\",\"user\":\"a/b\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]} | 400",
    "POST | /v1/chat/completions        | {\"model\":\"support\",\"stream\":\"yes\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]} | 400",
  })
  void badInputGetsAClearJsonErrorAndTheNodeKeepsServing(String method, String path, String body, int status)
    throws Exception {
    HttpResponse<String> r = TestHub.send(method.trim(), url + path.trim(), body == null ? "" : body.trim());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
    assertErrorShape(r);
    message("support", "after-bad-input", "still there?");
  }

  @Test
  void anOversizeBodyIs413() throws Exception {
    String text = "x".repeat(8 * 1024);
    HttpResponse<String> r = TestHub.post(url + "/v1/agents/support/messages",
      new JsonObject().put("session", "big").put("text", text).encode());
    assertThat(r.statusCode()).isEqualTo(413);
    assertErrorShape(r);
    message("support", "after-big", "still there?");
  }

  @Test
  void aTooLongSessionIdIs400() throws Exception {
    HttpResponse<String> r = TestHub.post(url + "/v1/agents/support/messages",
      new JsonObject().put("session", "s".repeat(129)).put("text", "hi").encode());
    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(TestHub.post(url + "/v1/agents/support/messages",
      new JsonObject().put("session", "s".repeat(128)).put("text", "hi").encode()).statusCode()).isEqualTo(200);
  }

  static void assertErrorShape(HttpResponse<String> r) {
    JsonObject error = new JsonObject(r.body()).getJsonObject("error");
    assertThat(error).as(r.body()).isNotNull();
    assertThat(error.getString("type")).isNotBlank();
    assertThat(error.getString("message")).isNotBlank();
    assertThat(r.body()).doesNotContain("Exception").doesNotContain("\tat ").doesNotContain("dev.agenthub");
  }
}
