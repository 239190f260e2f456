package dev.agenthub.hub.gateway;

import dev.agenthub.hub.HubNode;
import dev.agenthub.hub.TestHub;
import dev.agenthub.protocol.Turn;
import dev.agenthub.testing.HubYaml;

import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** API tokens: 401 for a missing or unknown token, 403 where the token may not go. */
class ClientAuthTest {

  private static HubNode node;

  @BeforeAll
  static void start() throws Exception {
    node = TestHub.start(HubYaml.yaml("auth1", 0, """
      clients:
        - { id: limited, token-sha256: %s, agents: [support] }
        - { id: web, token-sha256: %s, agents: [support] }
        - { id: ops-team, token-sha256: %s, agents: "*", admin: true }
        - { id: speller, token-sha256: %s, agents: [support] }
      """.formatted(ClientAuth.sha256("limited-token"), ClientAuth.sha256("web-token"), ClientAuth.sha256("admin-token"),
        ClientAuth.sha256("speller-token")))
      .replace("request-timeout: 30s }", "request-timeout: 30s, client-rps: 5 }"));
  }

  @AfterAll
  static void stop() throws Exception {
    node.close().await(1, TimeUnit.MINUTES);
  }

  private static HttpResponse<String> call(String method, String path, String token, String body) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(node.url() + path)).timeout(Duration.ofSeconds(30))
      .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    return TestHub.HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static final String MESSAGE = "{\"session\":\"s\",\"text\":\"hi\"}";

  @Test
  void tokensDecideWhoReachesWhat() throws Exception {
    assertThat(call("POST", "/v1/agents/support/messages", null, MESSAGE).statusCode()).isEqualTo(401);
    assertThat(call("POST", "/v1/agents/support/messages", "wrong", MESSAGE).statusCode()).isEqualTo(401);
    assertThat(call("POST", "/v1/agents/support/messages", "web-token", MESSAGE).statusCode()).isEqualTo(200);
    HttpResponse<String> forbidden = call("POST", "/v1/agents/ops/messages", "web-token", MESSAGE);
    assertThat(forbidden.statusCode()).isEqualTo(403);
    GatewayTest.assertErrorShape(forbidden);
    assertThat(call("POST", "/v1/agents/ops/messages", "admin-token", MESSAGE).statusCode()).isEqualTo(200);
    assertThat(call("POST", "/v1/chat/completions", "web-token",
      "{\"model\":\"ops\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}").statusCode()).isEqualTo(403);
  }

  /** A message that must be answered; waits out this class's own rate limit (5/s per client) if need be. */
  private static JsonObject ok(String agent, String token, String session, String text) throws Exception {
    HttpResponse<String> r = null;
    for (int attempt = 0; attempt < 20; attempt++) {
      r = call("POST", "/v1/agents/" + agent + "/messages", token,
        new JsonObject().put("session", session).put("text", text).encode());
      if (r.statusCode() != 429) {
        break;
      }
      Thread.sleep(500);
    }
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return new JsonObject(r.body());
  }

  @Test
  void aSessionBelongsToTheClientThatOpenedIt() throws Exception {
    ok("support", "limited-token", "same-id", "my account number is 77-1234");
    ok("support", "limited-token", "same-id", "and my name is Ada");
    // the same session id from another client is another session: it sees none of the first one
    JsonObject other = ok("support", "web-token", "same-id", "what did I tell you?");
    assertThat(other.getString("reply")).doesNotContain("This is message");
    // nor can its skills read the first client's transcript
    JsonObject probe = ok("support", "web-token", "probe", "/tool memory.read {\"path\":\"agents/support/sessions/limited/same-id.md\"}");
    assertThat(probe.getString("reply")).contains("error").doesNotContain("77-1234");
    // its own transcripts it may read
    JsonObject own = ok("support", "web-token", "probe-3", "/tool memory.read {\"path\":\"agents/support/sessions/web/same-id.md\"}");
    assertThat(own.getString("reply")).contains("what did I tell you?");
  }

  @Test
  void aStandardAgentCannotReachTheSensitiveAgentsMemoryThroughDelegation() throws Exception {
    HttpResponse<String> secret = call("POST", "/v1/memory/agents/assistant/MEMORY.md", "admin-token",
      new JsonObject().put("author", "ops").put("text", "the vault code is 4711").encode());
    assertThat(secret.statusCode()).as(secret.body()).isEqualTo(200);
    for (String token : new String[]{"web-token", "admin-token"}) {
      JsonObject r = ok("support", token, "deleg-probe", "/tool agent.delegate {\"agent\":\"assistant\",\"text\":"
        + "\"/tool memory.read {\\\"path\\\":\\\"agents/assistant/MEMORY.md\\\"}\"}");
      assertThat(r.getString("reply")).as(token).contains("error").doesNotContain("4711");
    }
    // a client may delegate only to agents it may call itself: web may use support only
    JsonObject toOps = ok("support", "web-token", "deleg-ops", "/tool agent.delegate {\"agent\":\"ops\",\"text\":\"hi\"}");
    assertThat(toOps.getString("reply")).contains("may not use agent 'ops'");
  }

  @Test
  void aForgedDelegationOnTheEventBusIsRefused() {
    var forged = node.vertx().eventBus().request(Turn.DELEGATE_ADDRESS, new JsonObject()
      .put("agent", "assistant").put("session", "x").put("text", "hi").put("from", "assistant").put("depth", 1));
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> forged.await(30, TimeUnit.SECONDS))
      .isInstanceOf(ReplyException.class)
      .satisfies(e -> assertThat(((ReplyException) e).failureCode()).isEqualTo(403));
  }

  @Test
  void eachClientHasARateLimit() throws Exception {
    int limited = 0;
    for (int i = 0; i < 40 && limited == 0; i++) {
      HttpResponse<String> r = call("GET", "/v1/cluster", "limited-token", null);
      if (r.statusCode() == 429) {
        limited++;
        assertThat(r.headers().firstValue("retry-after")).isPresent();
        assertThat(r.body()).contains("rate_limit_exceeded");
      }
    }
    assertThat(limited).as("a burst past 2 x 5/s is refused").isPositive();
    // another client is not affected
    assertThat(call("GET", "/v1/agents", "web-token", null).statusCode()).isEqualTo(200);
  }

  @Test
  void spellingTheHeaderDifferentlyIsStillTheSameClient() throws Exception {
    String[] spellings = {"Bearer speller-token", "bearer speller-token", "BEARER   speller-token",
      "Bearer speller-token  "};
    int limited = 0;
    for (int i = 0; i < 40 && limited == 0; i++) {
      HttpRequest request = HttpRequest.newBuilder(URI.create(node.url() + "/v1/agents")).timeout(Duration.ofSeconds(30))
        .header("Authorization", spellings[i % spellings.length]).GET().build();
      HttpResponse<String> r = TestHub.HTTP.send(request, HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() == 429) {
        limited++;
      } else {
        assertThat(r.statusCode()).isEqualTo(200);
      }
    }
    // one bucket of 2 x 5/s, whatever the spelling: the burst runs out within 40 requests
    assertThat(limited).isPositive();
  }

  @Test
  void metricsNeedAnAdminAndHealthIsAlwaysOpen() throws Exception {
    assertThat(call("GET", "/metrics", null, null).statusCode()).isEqualTo(401);
    assertThat(call("GET", "/metrics", "web-token", null).statusCode()).isEqualTo(403);
    assertThat(call("GET", "/metrics", "admin-token", null).statusCode()).isEqualTo(200);
    assertThat(call("GET", "/health/live", null, null).statusCode()).isEqualTo(200);
    assertThat(call("GET", "/health/ready", null, null).statusCode()).isEqualTo(200);
    assertThat(call("GET", "/v1/cluster", null, null).statusCode()).isEqualTo(401);
    // the cluster's layout is for admins only
    assertThat(call("GET", "/v1/cluster", "web-token", null).statusCode()).isEqualTo(403);
    assertThat(call("GET", "/v1/cluster", "admin-token", null).statusCode()).isEqualTo(200);
  }
}
