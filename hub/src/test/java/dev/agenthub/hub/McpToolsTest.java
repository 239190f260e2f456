package dev.agenthub.hub;

import dev.agenthub.config.ConfigException;
import dev.agenthub.config.ConfigLoader;
import dev.agenthub.protocol.EventBusApi;
import dev.agenthub.testing.Fixtures;
import dev.agenthub.testing.NpmPeers;

import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * MCP tools on a real node: a standard agent on the sim model calls the reference
 * {@code server-everything} and {@code server-filesystem} (from npm, over stdio) through the HTTP
 * API; every call is a transcript entry, a metric and an audit line; a sensitive agent never gets a
 * non-local server's tools, and the config says so at load.
 */
class McpToolsTest {

  private static HubNode node;
  private static Path memory;
  private static Path audit;
  private static Path shared;

  @BeforeAll
  static void start() throws Exception {
    memory = Fixtures.freshDir();
    audit = Fixtures.freshDir();
    shared = Fixtures.freshDir();
    Files.writeString(shared.resolve("plan.md"), "ship the tools module on Monday\n");
    String everything = NpmPeers.script("@modelcontextprotocol/server-everything", "dist/index.js").toString();
    String filesystem = NpmPeers.script("@modelcontextprotocol/server-filesystem", "dist/index.js").toString();
    node = TestHub.start("""
      node: { name: mcp1, roles: [general], http: { port: 0, request-timeout: 30s } }
      memory: { dir: "%s" }
      ledger: { dir: "%s" }
      audit: { dir: "%s" }
      providers: { sim: { type: sim, latency-ms: 0 } }
      models: { sim-small: { provider: sim, input: 0.15, output: 0.60 } }
      mcp:
        servers:
          every: { command: [node, "%s", stdio], local: false, timeout: 20s, approve: [get-sum] }
          quick: { command: [node, "%4$s", stdio], local: false, approve: true, approval-timeout: 1s }
          files: { command: [node, "%s", "%s"], local: true }
      agents:
        - { id: support, models: { routine: sim-small }, skills: [time.now, mcp.every.*, mcp.files.read_text_file,
            mcp.quick.echo] }
        - { id: vault, trust: sensitive, models: { routine: sim-small }, skills: [memory.read, mcp.files.*] }
      """.formatted(memory, Fixtures.freshDir(), audit, everything, filesystem, shared));
  }

  @AfterAll
  static void stop() throws Exception {
    node.close().await(1, TimeUnit.MINUTES);
  }

  private static JsonObject ask(String agent, String session, String text) throws Exception {
    HttpResponse<String> r = TestHub.post(node.url() + "/v1/agents/" + agent + "/messages",
      new JsonObject().put("session", session).put("text", text).encode());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return new JsonObject(r.body());
  }

  @Test
  void anAgentCallsAnMcpToolThroughTheSimModelAndTheCallIsRecorded() throws Exception {
    JsonObject reply = ask("support", "m1", "/tool mcp.every.echo {\"message\": \"hello from the hub\"}");
    assertThat(reply.getString("reply")).contains("Echo: hello from the hub");
    String transcript = Files.readString(memory.resolve("agents/support/sessions/m1.md"));
    assertThat(transcript).containsPattern("(?m)^## \\S+ tool$").contains("mcp.every.echo")
      .contains("Echo: hello from the hub");
    String metrics = TestHub.get(node.url() + "/metrics").body();
    assertThat(metrics).containsPattern(
      "agenthub_tool_calls_total\\{[^}]*outcome=\"ok\"[^}]*server=\"every\"[^}]*tool=\"echo\"[^}]*} 1\\.0");
    Fixtures.await("the audit line of the call", Duration.ofSeconds(30), () -> auditText().contains(
      "\"tool_call\""));
    String lines = auditText();
    assertThat(lines).contains("\"server\":\"every\"").contains("\"tool\":\"echo\"").contains("arguments_sha256")
      .doesNotContain("hello from the hub");
  }

  @Test
  void badArgumentsAndUnknownToolsGoBackToTheModelNotAFailedTurn() throws Exception {
    JsonObject bad = ask("support", "m2", "/tool mcp.every.echo {\"message\": 7}");
    assertThat(bad.getString("reply")).contains("do not fit the tool's input schema");
    JsonObject unlisted = ask("support", "m3", "/tool mcp.files.write_file {\"path\": \"" + shared.resolve("w.md")
      + "\", \"content\": \"x\"}");
    assertThat(unlisted.getString("reply")).contains("not allowed for this agent");
    assertThat(shared.resolve("w.md")).doesNotExist();
  }

  @Test
  void aSensitiveAgentUsesItsLocalServerAndIsRefusedTheOther() throws Exception {
    JsonObject local = ask("vault", "v1", "/tool mcp.files.read_text_file {\"path\": \"" + shared.resolve("plan.md")
      + "\"}");
    assertThat(local.getString("reply")).contains("ship the tools module on Monday");
    JsonObject remote = ask("vault", "v2", "/tool mcp.every.echo {\"message\": \"out\"}");
    assertThat(remote.getString("reply")).contains("not allowed for this agent").doesNotContain("Echo: out");
  }

  @Test
  void aClientsToolCalledBesideOneThatWaitsForApprovalComesBackOnceAPersonDecided() throws Exception {
    // one step calls the agent's tool under approve and the chat client's own tool
    JsonArray tools = new JsonArray().add(new JsonObject().put("type", "function").put("function",
      new JsonObject().put("name", "get_weather").put("parameters", new JsonObject().put("type", "object"))));
    JsonArray messages = new JsonArray().add(new JsonObject().put("role", "user").put("content",
      "/tool mcp.every.get-sum {\"a\": 2, \"b\": 3}\n/tool get_weather {\"city\":\"Paris\"}"));
    JsonObject chat = new JsonObject().put("model", "support").put("user", "ap-client").put("tools", tools);
    HttpResponse<String> paused = TestHub.post(node.url() + "/v1/chat/completions",
      chat.copy().put("messages", messages).encode());
    assertThat(paused.statusCode()).as(paused.body()).isEqualTo(202);
    String id = new JsonObject(paused.body()).getJsonObject("approval").getString("id");
    // the decision makes the agent's call; the turn then ends with the client's, as a chat completion would
    HttpResponse<String> approved = TestHub.post(node.url() + "/v1/approvals/" + id, "{\"decision\":\"approve\"}");
    assertThat(approved.statusCode()).as(approved.body()).isEqualTo(200);
    JsonObject reply = new JsonObject(approved.body());
    assertThat(reply.getString("finish_reason")).isEqualTo("tool_calls");
    JsonObject call = reply.getJsonArray("tool_calls").getJsonObject(0);
    assertThat(reply.getJsonArray("tool_calls")).hasSize(1);
    assertThat(call.getJsonObject("function").getString("name")).isEqualTo("get_weather");
    // the client's result finishes the turn, which read the agent's result too
    JsonArray followUp = messages.copy().add(new JsonObject().put("role", "assistant").putNull("content")
      .put("tool_calls", reply.getJsonArray("tool_calls"))).add(new JsonObject().put("role", "tool")
      .put("tool_call_id", call.getString("id")).put("content", "18C and sunny"));
    HttpResponse<String> done = TestHub.post(node.url() + "/v1/chat/completions",
      chat.copy().put("messages", followUp).encode());
    assertThat(done.statusCode()).as(done.body()).isEqualTo(200);
    assertThat(new JsonObject(done.body()).getJsonArray("choices").getJsonObject(0).getJsonObject("message")
      .getString("content")).contains("The sum of 2 and 3 is 5").contains("18C and sunny");
  }

  @Test
  void aToolUnderApproveWaitsForAPersonAndGoesOnWithTheDecision() throws Exception {
    HttpResponse<String> paused = TestHub.post(node.url() + "/v1/agents/support/messages",
      new JsonObject().put("session", "ap1").put("text", "/tool mcp.every.get-sum {\"a\": 2, \"b\": 3}").encode());
    assertThat(paused.statusCode()).as(paused.body()).isEqualTo(202);
    JsonObject waiting = new JsonObject(paused.body());
    assertThat(waiting.getString("status")).isEqualTo("approval_required");
    JsonObject approval = waiting.getJsonObject("approval");
    assertThat(approval.getString("agent")).isEqualTo("support");
    assertThat(approval.getString("session")).isEqualTo("ap1");
    assertThat(approval.getString("tool")).isEqualTo("mcp.every.get-sum");
    assertThat(approval.getJsonObject("arguments")).isEqualTo(new JsonObject().put("a", 2).put("b", 3));
    String id = approval.getString("id");
    JsonObject listed = new JsonObject(TestHub.get(node.url() + "/v1/approvals").body());
    assertThat(listed.getJsonArray("approvals").stream().map(a -> ((JsonObject) a).getString("id"))).contains(id);
    assertThat(Files.readString(memory.resolve("agents/support/sessions/ap1.md"))).containsPattern(
      "(?m)^## \\S+ approval$").doesNotContain("The sum of 2 and 3");

    HttpResponse<String> bad = TestHub.post(node.url() + "/v1/approvals/" + id, "{\"decision\":\"maybe\"}");
    assertThat(bad.statusCode()).isEqualTo(400);
    HttpResponse<String> approved = TestHub.post(node.url() + "/v1/approvals/" + id, "{\"decision\":\"approve\"}");
    assertThat(approved.statusCode()).as(approved.body()).isEqualTo(200);
    assertThat(new JsonObject(approved.body()).getString("reply")).contains("The sum of 2 and 3 is 5");
    assertThat(TestHub.post(node.url() + "/v1/approvals/" + id, "{\"decision\":\"approve\"}").statusCode())
      .isEqualTo(404);
    assertThat(new JsonObject(TestHub.get(node.url() + "/v1/approvals").body()).getJsonArray("approvals").stream()
      .map(a -> ((JsonObject) a).getString("id"))).doesNotContain(id);
    String transcript = Files.readString(memory.resolve("agents/support/sessions/ap1.md"));
    assertThat(transcript).contains("The sum of 2 and 3 is 5").containsPattern("(?m)^## \\S+ assistant$");

    HttpResponse<String> second = TestHub.post(node.url() + "/v1/agents/support/messages",
      new JsonObject().put("session", "ap2").put("text", "/tool mcp.every.get-sum {\"a\": 40, \"b\": 2}").encode());
    assertThat(second.statusCode()).isEqualTo(202);
    String id2 = new JsonObject(second.body()).getJsonObject("approval").getString("id");
    HttpResponse<String> denied = TestHub.post(node.url() + "/v1/approvals/" + id2, "{\"decision\":\"deny\"}");
    assertThat(denied.statusCode()).as(denied.body()).isEqualTo(200);
    assertThat(new JsonObject(denied.body()).getString("reply")).contains("denied").doesNotContain("42");
    assertThat(TestHub.post(node.url() + "/v1/approvals/apv-no-such", "{\"decision\":\"deny\"}").statusCode())
      .isEqualTo(404);

    // the same desk on the event bus
    HttpResponse<String> third = TestHub.post(node.url() + "/v1/agents/support/messages",
      new JsonObject().put("session", "ap3").put("text", "/tool mcp.every.get-sum {\"a\": 7, \"b\": 8}").encode());
    assertThat(third.statusCode()).isEqualTo(202);
    String id3 = new JsonObject(third.body()).getJsonObject("approval").getString("id");
    JsonObject onBus = node.vertx().eventBus().<JsonObject>request(EventBusApi.APPROVALS, new JsonObject())
      .await(30, TimeUnit.SECONDS).body();
    assertThat(onBus.getJsonArray("approvals").stream().map(a -> ((JsonObject) a).getString("id"))).contains(id3);
    JsonObject decided = node.vertx().eventBus().<JsonObject>request(EventBusApi.APPROVALS, new JsonObject()
      .put("id", id3).put("decision", "approve")).await(60, TimeUnit.SECONDS).body();
    assertThat(decided.getString("reply")).contains("The sum of 7 and 8 is 15");
    assertThatThrownBy(() -> node.vertx().eventBus().<JsonObject>request(EventBusApi.APPROVALS, new JsonObject()
      .put("id", id3).put("decision", "approve")).await(30, TimeUnit.SECONDS))
      .isInstanceOf(ReplyException.class).satisfies(e -> assertThat(((ReplyException) e).failureCode()).isEqualTo(404));
  }

  @Test
  void anApprovalNobodyDecidesExpiresAsDeniedAndTheTurnGoesOn() throws Exception {
    HttpResponse<String> paused = TestHub.post(node.url() + "/v1/agents/support/messages",
      new JsonObject().put("session", "exp1").put("text", "/tool mcp.quick.echo {\"message\": \"too late\"}").encode());
    assertThat(paused.statusCode()).as(paused.body()).isEqualTo(202);
    String id = new JsonObject(paused.body()).getJsonObject("approval").getString("id");
    Fixtures.await("the expired approval's turn answered", Duration.ofSeconds(90), () -> read(
      memory.resolve("agents/support/sessions/exp1.md")).contains("nobody approved this call within its time"));
    assertThat(Files.readString(memory.resolve("agents/support/sessions/exp1.md"))).doesNotContain("Echo: too late");
    assertThat(TestHub.post(node.url() + "/v1/approvals/" + id, "{\"decision\":\"approve\"}").statusCode())
      .isEqualTo(404);
  }

  @Test
  void theConfigRefusesASensitiveAgentOnANonLocalServerAndUnknownServers() {
    String base = """
      node: { name: c1 }
      providers: { sim: { type: sim } }
      models: { sim-small: { provider: sim } }
      mcp: { servers: { crm: { url: "https://crm.example/mcp", headers: { Authorization: { secret-env: CRM_TOKEN } } } } }
      """;
    assertThatThrownBy(() -> ConfigLoader.parse(base + """
      agents: [ { id: vault, trust: sensitive, models: { routine: sim-small }, skills: [mcp.crm.*] } ]
      """)).isInstanceOf(ConfigException.class).hasMessageContaining("agents[0].skills")
      .hasMessageContaining("sensitive agent 'vault' may not use MCP server 'crm'");
    assertThatThrownBy(() -> ConfigLoader.parse(base + """
      agents: [ { id: ops, models: { routine: sim-small }, skills: [mcp.nope.*] } ]
      """)).isInstanceOf(ConfigException.class).hasMessageContaining("MCP server 'nope'");
    assertThatThrownBy(() -> ConfigLoader.parse(base.replace("url: \"https://crm.example/mcp\", ", "") + """
      agents: [ { id: ops, models: { routine: sim-small } } ]
      """)).isInstanceOf(ConfigException.class).hasMessageContaining("exactly one of command");
    var ok = ConfigLoader.parse(base + """
      agents: [ { id: ops, models: { routine: sim-small }, skills: [mcp.crm.list_contacts] } ]
      """);
    assertThat(ok.mcp().servers().get("crm").headers().get("Authorization").toString())
      .isEqualTo("{secret-env: CRM_TOKEN}");
  }

  private static String read(Path file) {
    try {
      return Files.readString(file);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static String auditText() {
    try (Stream<Path> files = Files.walk(audit)) {
      StringBuilder all = new StringBuilder();
      for (Path f : files.filter(Files::isRegularFile).toList()) {
        all.append(Files.readString(f));
      }
      return all.toString();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
