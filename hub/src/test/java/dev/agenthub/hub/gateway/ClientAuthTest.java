package dev.agenthub.hub.gateway;

import dev.agenthub.hub.HubNode;
import dev.agenthub.hub.TestHub;
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
    node = TestHub.start(TestHub.yaml("auth1", 0, """
      clients:
        - { id: limited, token-sha256: %s, agents: [support] }
        - { id: web, token-sha256: %s, agents: [support] }
        - { id: ops-team, token-sha256: %s, agents: "*", admin: true }
      """.formatted(ClientAuth.sha256("limited-token"), ClientAuth.sha256("web-token"), ClientAuth.sha256("admin-token")))
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

  @Test
  void eachClientHasARateLimit() throws Exception {
    int limited = 0;
    for (int i = 0; i < 40 && limited == 0; i++) {
      HttpResponse<String> r = call("GET", "/v1/cluster", "limited-token", null);
      if (r.statusCode() == 429) {
        limited++;
        assertThat(r.headers().firstValue("retry-after")).isPresent();
        assertThat(r.body()).contains("rate_limited");
      }
    }
    assertThat(limited).as("a burst past 2 x 5/s is refused").isPositive();
    // another client is not affected
    assertThat(call("GET", "/v1/cluster", "web-token", null).statusCode()).isEqualTo(200);
  }

  @Test
  void metricsNeedAnAdminAndHealthIsAlwaysOpen() throws Exception {
    assertThat(call("GET", "/metrics", null, null).statusCode()).isEqualTo(401);
    assertThat(call("GET", "/metrics", "web-token", null).statusCode()).isEqualTo(403);
    assertThat(call("GET", "/metrics", "admin-token", null).statusCode()).isEqualTo(200);
    assertThat(call("GET", "/health/live", null, null).statusCode()).isEqualTo(200);
    assertThat(call("GET", "/health/ready", null, null).statusCode()).isEqualTo(200);
    assertThat(call("GET", "/v1/cluster", null, null).statusCode()).isEqualTo(401);
    assertThat(call("GET", "/v1/cluster", "web-token", null).statusCode()).isEqualTo(200);
  }
}
