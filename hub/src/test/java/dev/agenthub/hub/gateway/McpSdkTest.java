package dev.agenthub.hub.gateway;

import dev.agenthub.hub.HubNode;
import dev.agenthub.hub.TestHub;
import dev.agenthub.protocol.Hashes;
import dev.agenthub.testing.Fixtures;
import dev.agenthub.testing.HubYaml;
import dev.agenthub.testing.NpmPeers;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code /mcp} against the official MCP TypeScript SDK's client ({@code @modelcontextprotocol/sdk},
 * pinned in test-support/npm), run by node as a user's MCP client, on a node with two clients; and
 * what that client never tries (another token's session, a page from elsewhere), over plain HTTP.
 */
class McpSdkTest {

  private static final String WEB = "mcp-web-token-0123456789";
  private static final String PRIVATE = "mcp-private-token-0123456789";
  private static final String SCRAPER = "mcp-scraper-token-0123456789";
  private static final String BROKE = "mcp-broke-token-0123456789";
  private static HubNode node;
  private static Path audit;

  @BeforeAll
  static void start() throws Exception {
    NpmPeers.installed();
    audit = Fixtures.freshDir();
    // sim latency 300 ms: a streamed answer comes in pieces spread over it, so progress is seen;
    // the agent slow takes 20 s, so a call of it is surely on its way when it is cancelled; the client
    // broke's budget has no room for a turn
    node = TestHub.start(HubYaml.node("mcp1", "general") + HubYaml.memoryYaml(Fixtures.freshDir())
      + "ledger: { dir: \"" + Fixtures.freshDir() + "\" }\naudit: { dir: \"" + audit + "\" }\n" + """
      providers: { sim: { type: sim, latency-ms: 300 }, slow: { type: sim, latency-ms: 20000 } }
      models:
        sim-small: { provider: sim, input: 0.15, output: 0.60 }
        sim-slow: { provider: slow, input: 0.15, output: 0.60 }
      agents:
        - { id: support, models: { routine: sim-small } }
        - { id: ops, description: "Operations: looks after the servers.", models: { routine: sim-small } }
        - { id: assistant, trust: sensitive, models: { routine: sim-small } }
        - { id: slow, models: { routine: sim-slow } }
      budgets: { on-exceed: block }
      clients:
        - { id: web, token-sha256: %s, agents: [support, ops, slow] }
        - { id: private, token-sha256: %s, agents: [assistant] }
        - { id: scraper, token-sha256: %s, metrics: true }
        - { id: broke, token-sha256: %s, agents: [support], budget-usd: 0.0000001 }
      """.formatted(Hashes.sha256Hex(WEB), Hashes.sha256Hex(PRIVATE), Hashes.sha256Hex(SCRAPER),
      Hashes.sha256Hex(BROKE)));
  }

  @AfterAll
  static void stop() throws Exception {
    TestHub.close(null, node);
  }

  /** Runs the SDK's client script; its report. */
  private static JsonObject runClient() throws Exception {
    Path script = Path.of(McpSdkTest.class.getResource("/mcp/sdk-client.cjs").toURI());
    Path err = Files.createTempFile("mcp-sdk-client", ".err");
    ProcessBuilder pb = new ProcessBuilder("node", script.toString(), node.url() + "/mcp", WEB, PRIVATE,
      "not-a-token-of-this-hub").redirectError(err.toFile());
    pb.environment().put("NODE_PATH", NpmPeers.installed().resolve("node_modules").toString());
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(2, TimeUnit.MINUTES)).as("the client finished").isTrue();
    assertThat(p.exitValue()).as("the client failed: " + Files.readString(err)).isZero();
    Files.deleteIfExists(err);
    return new JsonObject(out.strip());
  }

  @Test
  void theOfficialTypeScriptClientAsksTheAgentsItsTokenMayUseAndNoOthers() throws Exception {
    JsonObject report = runClient();
    assertThat(report.getJsonObject("server").getString("name")).isEqualTo("agenthub");
    assertThat(report.getJsonObject("capabilities").containsKey("tools")).isTrue();
    // the SDK asks for 2025-11-25, which the door speaks too
    assertThat(report.getString("protocolVersion")).isEqualTo("2025-11-25");

    JsonArray tools = report.getJsonArray("tools");
    assertThat(tools.stream().map(t -> ((JsonObject) t).getString("name"))).containsExactly("ask_support", "ask_ops",
      "ask_slow");
    assertThat(tools.getJsonObject(1).getString("description")).startsWith("Operations: looks after the servers.");
    assertThat(tools.getJsonObject(1).getJsonObject("inputSchema").getJsonArray("required")).containsExactly("text");
    assertThat(report.getJsonArray("otherTools")).containsExactly("ask_assistant");

    // the sim model's reply: the same as the HTTP API gives for the same first message
    JsonObject call = report.getJsonObject("call");
    assertThat(call.getBoolean("isError")).isFalse();
    String text = call.getJsonArray("content").getJsonObject(0).getString("text");
    HttpResponse<String> twin = TestHub.send("POST", node.url() + "/v1/agents/support/messages",
      new JsonObject().put("session", "http-twin").put("text", "Where is my parcel?").encode(), WEB);
    assertThat(twin.statusCode()).isEqualTo(200);
    assertThat(text).contains("Where is my parcel?").isEqualTo(new JsonObject(twin.body()).getString("reply"));
    JsonObject turn = call.getJsonObject("_meta").getJsonObject("dev.agenthub/reply");
    assertThat(turn.getString("agent")).isEqualTo("support");
    assertThat(turn.getString("model")).isEqualTo("sim-small");
    assertThat(turn.getDouble("cost_usd")).isPositive();

    // progress while the agent wrote, each larger than the last, then the reply
    JsonArray progress = report.getJsonArray("progress");
    assertThat(progress.size()).as("progress notifications: " + progress).isGreaterThanOrEqualTo(2);
    for (int i = 1; i < progress.size(); i++) {
      assertThat(progress.getJsonObject(i).getDouble("progress"))
        .isGreaterThan(progress.getJsonObject(i - 1).getDouble("progress"));
    }
    String story = report.getJsonObject("progressCall").getJsonArray("content").getJsonObject(0).getString("text");
    assertThat(progress.getJsonObject(progress.size() - 1).getDouble("progress")).isEqualTo((double) story.length());

    // an agent the token may not use is no tool of its (the SDK throws the JSON-RPC error), and is audited
    JsonObject forbidden = report.getJsonObject("forbidden");
    assertThat(forbidden.getBoolean("failed")).isTrue();
    assertThat(forbidden.getInteger("code")).isEqualTo(-32602);
    assertThat(forbidden.getString("message")).contains("Unknown tool: ask_assistant");
    Fixtures.await("the refusal in the audit log", Duration.ofSeconds(10), () -> auditLines().stream()
      .anyMatch(l -> l.contains("\"type\":\"auth_failed\"") && l.contains("\"door\":\"mcp\"")
        && l.contains("\"agent\":\"assistant\"")));

    JsonObject unauthorized = report.getJsonObject("unauthorized");
    assertThat(unauthorized.getBoolean("failed")).isTrue();
    assertThat(unauthorized.getInteger("code")).isEqualTo(401);
  }

  private static List<String> auditLines() {
    try (Stream<Path> files = Files.list(audit)) {
      return files.flatMap(f -> {
        try {
          return Files.readAllLines(f).stream();
        } catch (Exception e) {
          return Stream.empty();
        }
      }).toList();
    } catch (Exception e) {
      return List.of();
    }
  }

  private static HttpResponse<String> mcp(String method, String body, String token, String session, String origin)
    throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(node.url() + "/mcp")).timeout(Duration.ofSeconds(30))
      .header("Content-Type", "application/json").header("Accept", "application/json, text/event-stream")
      .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    if (session != null) {
      b.header("Mcp-Session-Id", session);
    }
    if (origin != null) {
      b.header("Origin", origin);
    }
    return TestHub.HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static final String INITIALIZE = new JsonObject().put("jsonrpc", "2.0").put("id", 1)
    .put("method", "initialize").put("params", new JsonObject().put("protocolVersion", "2025-06-18")
      .put("capabilities", new JsonObject()).put("clientInfo", new JsonObject().put("name", "t").put("version", "1")))
    .encode();
  private static final String LIST = "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}";

  @Test
  void aSessionIsItsTokensAndPagesFromElsewhereAreRefused() throws Exception {
    HttpResponse<String> init = mcp("POST", INITIALIZE, WEB, null, null);
    assertThat(init.statusCode()).isEqualTo(200);
    assertThat(new JsonObject(init.body()).getJsonObject("result").getString("protocolVersion")).isEqualTo("2025-06-18");
    String session = init.headers().firstValue("Mcp-Session-Id").orElseThrow();

    assertThat(mcp("POST", LIST, WEB, session, null).statusCode()).isEqualTo(200);
    assertThat(mcp("POST", LIST, PRIVATE, session, null).statusCode()).as("another token's session").isEqualTo(404);
    assertThat(mcp("POST", LIST, "wrong", session, null).statusCode()).isEqualTo(401);
    assertThat(mcp("POST", LIST, null, session, null).statusCode()).isEqualTo(401);
    HttpResponse<String> rebinding = mcp("POST", INITIALIZE, WEB, null, "http://attacker.example");
    assertThat(rebinding.statusCode()).as("DNS rebinding").isEqualTo(403);
    assertThat(rebinding.body()).contains("Origin");
    assertThat(mcp("POST", LIST, WEB, session, "http://localhost:6274").statusCode()).isEqualTo(200);

    HttpResponse<String> bad = mcp("POST", "{\"jsonrpc\":", WEB, session, null);
    assertThat(bad.statusCode()).isEqualTo(400);
    assertThat(new JsonObject(bad.body()).getJsonObject("error").getInteger("code")).isEqualTo(-32700);
    assertThat(mcp("GET", null, WEB, session, null).statusCode()).isEqualTo(405);

    assertThat(mcp("DELETE", null, PRIVATE, session, null).statusCode()).isEqualTo(404);
    assertThat(mcp("DELETE", null, WEB, session, null).statusCode()).isEqualTo(204);
    assertThat(mcp("POST", LIST, WEB, session, null).statusCode()).as("ended").isEqualTo(404);
  }

  @Test
  void aCallTheClientCancelsEndsWithNoResultAndItsTurnStops() throws Exception {
    String session = mcp("POST", INITIALIZE, WEB, null, null).headers().firstValue("Mcp-Session-Id").orElseThrow();
    String call = new JsonObject().put("jsonrpc", "2.0").put("id", 7).put("method", "tools/call")
      .put("params", new JsonObject().put("name", "ask_slow").put("arguments", new JsonObject().put("text", "hi"))
        .put("_meta", new JsonObject().put("progressToken", "c-1"))).encode();
    HttpRequest request = HttpRequest.newBuilder(URI.create(node.url() + "/mcp")).timeout(Duration.ofSeconds(60))
      .header("Content-Type", "application/json").header("Accept", "application/json, text/event-stream")
      .header("Authorization", "Bearer " + WEB).header("Mcp-Session-Id", session)
      .POST(HttpRequest.BodyPublishers.ofString(call)).build();
    HttpResponse<Stream<String>> streamed = TestHub.HTTP.send(request, HttpResponse.BodyHandlers.ofLines());
    assertThat(streamed.headers().firstValue("Content-Type").orElseThrow()).startsWith("text/event-stream");
    Iterator<String> lines = streamed.body().iterator();
    // the first progress says the turn is on its way: then it is cancelled
    while (!lines.next().contains("notifications/progress")) {
      assertThat(lines.hasNext()).isTrue();
    }
    String cancelled = new JsonObject().put("jsonrpc", "2.0").put("method", "notifications/cancelled")
      .put("params", new JsonObject().put("requestId", 7).put("reason", "the user pressed stop")).encode();
    assertThat(mcp("POST", cancelled, WEB, session, null).statusCode()).isEqualTo(202);
    List<String> rest = new ArrayList<>();
    lines.forEachRemaining(rest::add);
    assertThat(rest).as("no result after the cancel").noneMatch(l -> l.contains("\"result\""));
    // the turn stopped at the agent (its model call cut short, the turn ended as interrupted): it is
    // counted long before the 20 s the model would have taken
    Fixtures.await("the cancelled turn ended", Duration.ofSeconds(10), () -> {
      try {
        return TestHub.get(node.url() + "/metrics", SCRAPER).body().lines().anyMatch(l ->
          l.startsWith("agenthub_messages_total{") && l.contains("agent=\"slow\""));
      } catch (Exception e) {
        return false;
      }
    });
  }

  @Test
  void aTurnTheClientsBudgetRefusesIsAToolErrorSayingSo() throws Exception {
    String session = mcp("POST", INITIALIZE, BROKE, null, null).headers().firstValue("Mcp-Session-Id").orElseThrow();
    JsonObject refused = null;
    for (int i = 0; i < 5 && refused == null; i++) {
      String call = new JsonObject().put("jsonrpc", "2.0").put("id", 10 + i).put("method", "tools/call")
        .put("params", new JsonObject().put("name", "ask_support")
          .put("arguments", new JsonObject().put("text", "question " + i))).encode();
      HttpResponse<String> answer = mcp("POST", call, BROKE, session, null);
      assertThat(answer.statusCode()).isEqualTo(200);
      JsonObject result = new JsonObject(answer.body()).getJsonObject("result");
      if (result.getBoolean("isError")) {
        refused = result;
      }
    }
    assertThat(refused).as("the budget of 0.0000001 USD refuses a turn").isNotNull();
    assertThat(refused.getJsonArray("content").getJsonObject(0).getString("text")).contains("client:broke")
      .contains("(budget_exceeded; retry after");
    assertThat(refused.getJsonObject("_meta").getJsonObject("dev.agenthub/error").getInteger("status")).isEqualTo(429);
  }
}
