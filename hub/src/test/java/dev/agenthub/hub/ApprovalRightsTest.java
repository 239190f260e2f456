package dev.agenthub.hub;

import dev.agenthub.protocol.Hashes;
import dev.agenthub.testing.Fixtures;
import dev.agenthub.testing.NpmPeers;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Who may see and decide a paused tool call on a hub with clients: the client whose session paused
 * it and an admin; another client sees nothing and gets 404 for it, a caller without a token 401.
 */
class ApprovalRightsTest {

  @Test
  void onlyTheSessionsClientAndAnAdminSeeAndDecideAnApproval() throws Exception {
    String everything = NpmPeers.script("@modelcontextprotocol/server-everything", "dist/index.js").toString();
    HubNode node = TestHub.start("""
      node: { name: ar1, roles: [general], http: { port: 0, request-timeout: 30s } }
      memory: { dir: "%s" }
      ledger: { dir: "%s" }
      audit: { dir: "%s" }
      providers: { sim: { type: sim } }
      models: { sim-small: { provider: sim } }
      mcp: { servers: { every: { command: [node, "%s", stdio], approve: [get-sum] } } }
      agents:
        - { id: support, models: { routine: sim-small }, skills: [mcp.every.*] }
      clients:
        - { id: alice, token-sha256: %s, agents: [support] }
        - { id: bob, token-sha256: %s, agents: [support] }
        - { id: root, token-sha256: %s, agents: "*", admin: true }
      """.formatted(Fixtures.freshDir(), Fixtures.freshDir(), Fixtures.freshDir(), everything,
      Hashes.sha256Hex("alice-token"), Hashes.sha256Hex("bob-token"), Hashes.sha256Hex("root-token")));
    try {
      HttpResponse<String> paused = TestHub.send("POST", node.url() + "/v1/agents/support/messages",
        new JsonObject().put("session", "r1").put("text", "/tool mcp.every.get-sum {\"a\": 1, \"b\": 2}").encode(),
        "alice-token");
      assertThat(paused.statusCode()).as(paused.body()).isEqualTo(202);
      String id = new JsonObject(paused.body()).getJsonObject("approval").getString("id");

      assertThat(TestHub.get(node.url() + "/v1/approvals", "bob-token").body()).doesNotContain(id);
      assertThat(TestHub.get(node.url() + "/v1/approvals", "alice-token").body()).contains(id);
      assertThat(TestHub.get(node.url() + "/v1/approvals", "root-token").body()).contains(id);
      assertThat(TestHub.get(node.url() + "/v1/approvals").statusCode()).isEqualTo(401);
      assertThat(TestHub.send("POST", node.url() + "/v1/approvals/" + id, "{\"decision\":\"approve\"}", null)
        .statusCode()).isEqualTo(401);
      assertThat(TestHub.send("POST", node.url() + "/v1/approvals/" + id, "{\"decision\":\"approve\"}", "bob-token")
        .statusCode()).isEqualTo(404);
      // bob's attempt decided nothing: alice still can
      HttpResponse<String> decided = TestHub.send("POST", node.url() + "/v1/approvals/" + id,
        "{\"decision\":\"approve\"}", "alice-token");
      assertThat(decided.statusCode()).as(decided.body()).isEqualTo(200);
      assertThat(new JsonObject(decided.body()).getString("reply")).contains("The sum of 1 and 2 is 3");
    } finally {
      node.close().await(1, TimeUnit.MINUTES);
    }
  }
}
