package dev.agenthub.mcp;

import dev.agenthub.config.ConfigLoader;
import dev.agenthub.config.HubConfig;
import dev.agenthub.protocol.Failure;
import dev.agenthub.protocol.MessageAuth;
import dev.agenthub.protocol.ToolCall;
import dev.agenthub.testing.Fixtures;
import dev.agenthub.testing.HubYaml;
import dev.agenthub.testing.NpmPeers;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The tool door against MCP servers no one here wrote: the reference {@code server-everything}
 * (stdio and Streamable HTTP) and {@code server-filesystem} (stdio), installed from npm. Real
 * Vert.x, real child processes, real HTTP.
 */
class McpVerticleTest {

  private static final byte[] SECRET = "mcp-test-secret-0123456789".getBytes(StandardCharsets.UTF_8);
  private final MessageAuth.Verifier verifier = new MessageAuth.Verifier(SECRET);
  private final List<Process> servers = new ArrayList<>();
  private Vertx vertx;
  private Path shared;

  @BeforeEach
  void setUp() throws Exception {
    vertx = Vertx.vertx();
    shared = Fixtures.freshDir();
    Files.writeString(shared.resolve("notes.txt"), "the launch is on Tuesday\n");
  }

  @AfterEach
  void tearDown() throws Exception {
    vertx.close().await(30, TimeUnit.SECONDS);
    servers.forEach(Process::destroyForcibly);
  }

  private static String everything() {
    return NpmPeers.script("@modelcontextprotocol/server-everything", "dist/index.js").toString();
  }

  private static String filesystem() {
    return NpmPeers.script("@modelcontextprotocol/server-filesystem", "dist/index.js").toString();
  }

  private HubConfig config(String servers, String agents) {
    String yaml = HubYaml.node("n1", "general") + HubYaml.memoryYaml(Fixtures.freshDir()) + HubYaml.simModels(0)
      + "mcp:\n  servers:\n" + servers + "agents:\n" + agents;
    return ConfigLoader.parse(yaml);
  }

  private String stdioEverything(String extra) {
    return "    every: { command: [node, \"" + everything() + "\", stdio], local: true" + extra + " }\n";
  }

  private void deploy(HubConfig config, Map<String, String> env) throws Exception {
    vertx.deployVerticle(new McpVerticle(config, verifier, McpEvents.NONE, env)).await(30, TimeUnit.SECONDS);
  }

  private JsonArray tools(String agent) throws Exception {
    JsonObject ask = new JsonObject().put("agent", agent);
    MessageAuth.Signer signer = MessageAuth.Signer.of(SECRET, agent);
    return ToolCall.tools(vertx.eventBus().<JsonObject>request(ToolCall.TOOLS_ADDRESS, ask,
        signer.signLocal(ToolCall.TOOLS_ADDRESS, new DeliveryOptions().setSendTimeout(60_000)))
      .await(90, TimeUnit.SECONDS).body());
  }

  private ToolCall.Reply call(String agent, String tool, JsonObject args) throws Exception {
    return call(agent, tool, args, ToolCall.newCallId(), 60_000);
  }

  private ToolCall.Reply call(String agent, String tool, JsonObject args, String callId, long timeoutMs) throws Exception {
    JsonObject body = new ToolCall.Request(agent, null, "s1", tool, args, callId).toJson();
    MessageAuth.Signer signer = MessageAuth.Signer.of(SECRET, agent);
    return ToolCall.Reply.fromJson(vertx.eventBus().<JsonObject>request(ToolCall.ADDRESS, body,
        signer.signLocal(ToolCall.ADDRESS, new DeliveryOptions().setSendTimeout(timeoutMs + 5_000)
          .addHeader("timeout", Long.toString(timeoutMs))))
      .await(120, TimeUnit.SECONDS).body());
  }

  private static List<String> names(JsonArray tools) {
    List<String> out = new ArrayList<>();
    tools.forEach(t -> out.add(((JsonObject) t).getJsonObject("function").getString("name")));
    return out;
  }

  @Test
  void aStdioServersToolsAreListedAndCalledUnderEachAgentsSkills() throws Exception {
    deploy(config(stdioEverything(""), """
        - { id: support, models: { routine: sim-small }, skills: [time.now, mcp.every.*] }
        - { id: ops, models: { routine: sim-small }, skills: [mcp.every.echo] }
      """), Map.of());
    JsonArray all = tools("support");
    assertThat(names(all)).contains("mcp.every.echo", "mcp.every.get-sum", "mcp.every.get-env");
    JsonObject echo = all.stream().map(JsonObject.class::cast)
      .filter(t -> t.getJsonObject("function").getString("name").equals("mcp.every.echo")).findFirst().orElseThrow();
    assertThat(echo.getJsonObject("function").getJsonObject("parameters").getJsonObject("properties")
      .containsKey("message")).isTrue();
    assertThat(echo.getJsonObject("function").getJsonObject("parameters").containsKey("$schema")).isFalse();
    assertThat(names(tools("ops"))).containsExactly("mcp.every.echo");

    assertThat(call("support", "mcp.every.echo", new JsonObject().put("message", "hi")))
      .isEqualTo(new ToolCall.Reply("Echo: hi", false));
    assertThat(call("support", "mcp.every.get-sum", new JsonObject().put("a", 2).put("b", 40)).text()).contains("42");
    // ops lists only echo: the door refuses the rest whatever the model names
    ToolCall.Reply refused = call("ops", "mcp.every.get-sum", new JsonObject().put("a", 1).put("b", 1));
    assertThat(refused.error()).isTrue();
    assertThat(refused.text()).contains("not allowed for this agent");
  }

  @Test
  void argumentsThatDoNotFitTheSchemaNeverReachTheServer() throws Exception {
    deploy(config(stdioEverything(""), """
        - { id: support, models: { routine: sim-small }, skills: [mcp.every.*] }
      """), Map.of());
    ToolCall.Reply bad = call("support", "mcp.every.get-sum", new JsonObject().put("a", "two").put("b", 40));
    assertThat(bad.error()).isTrue();
    assertThat(bad.text()).contains("do not fit the tool's input schema").contains("/a");
    ToolCall.Reply missing = call("support", "mcp.every.echo", new JsonObject());
    assertThat(missing.error()).isTrue();
    assertThat(missing.text()).contains("message");
    ToolCall.Reply unknown = call("support", "mcp.every.no-such-tool", new JsonObject());
    assertThat(unknown.error()).isTrue();
    assertThat(unknown.text()).contains("has no tool 'no-such-tool'");
  }

  @Test
  void aRequestNotSignedByTheAgentItNamesIsRefused() throws Exception {
    deploy(config(stdioEverything(""), """
        - { id: support, models: { routine: sim-small }, skills: [mcp.every.*] }
        - { id: ops, models: { routine: sim-small }, skills: [time.now] }
      """), Map.of());
    JsonObject body = new ToolCall.Request("support", null, "s1", "mcp.every.echo",
      new JsonObject().put("message", "x"), ToolCall.newCallId()).toJson();
    MessageAuth.Signer ops = MessageAuth.Signer.of(SECRET, "ops");
    Throwable forged = failure(vertx.eventBus().<JsonObject>request(ToolCall.ADDRESS, body,
      ops.signLocal(ToolCall.ADDRESS, new DeliveryOptions().setSendTimeout(10_000))));
    assertThat(forged).isInstanceOf(ReplyException.class);
    assertThat(Failure.from(forged, Failure.Kind.INTERNAL, "").kind()).isEqualTo(Failure.Kind.FORBIDDEN);
    Throwable unsigned = failure(vertx.eventBus().<JsonObject>request(ToolCall.ADDRESS, body,
      new DeliveryOptions().setSendTimeout(10_000)));
    assertThat(Failure.from(unsigned, Failure.Kind.INTERNAL, "").kind()).isEqualTo(Failure.Kind.FORBIDDEN);
  }

  @Test
  void theChildGetsItsConfiguredEnvironmentNeverTheNodesSecrets() throws Exception {
    // surefire gives this JVM AGENTHUB_CLUSTER_SECRET and MCP_TEST_TOKEN (mcp/pom.xml)
    assertThat(System.getenv("AGENTHUB_CLUSTER_SECRET")).isNotBlank();
    deploy(config(stdioEverything(", env: { GREETING: hello, API_TOKEN: { secret-env: MCP_TEST_TOKEN } }"), """
        - { id: support, models: { routine: sim-small }, skills: [mcp.every.get-env] }
      """), System.getenv());
    String env = call("support", "mcp.every.get-env", new JsonObject()).text();
    assertThat(env).contains("GREETING").contains("hello").contains("API_TOKEN").contains(System.getenv("MCP_TEST_TOKEN"));
    assertThat(env).doesNotContain("AGENTHUB_CLUSTER_SECRET").doesNotContain(System.getenv("AGENTHUB_CLUSTER_SECRET"));
    assertThat(env).contains("PATH");
  }

  @Test
  void aKilledStdioServerIsStartedAgainAndTheNextCallSucceeds() throws Exception {
    deploy(config(stdioEverything(""), """
        - { id: support, models: { routine: sim-small }, skills: [mcp.every.*] }
      """), Map.of());
    assertThat(call("support", "mcp.every.echo", new JsonObject().put("message", "one")).text()).isEqualTo("Echo: one");
    long pid = children().get(0);
    ProcessHandle.of(pid).orElseThrow().destroyForcibly();
    Fixtures.await("the killed server gone", Duration.ofSeconds(60), () -> !ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false));
    Fixtures.await("a call after the restart", Duration.ofSeconds(60), () -> !quietly(() -> call("support", "mcp.every.echo",
      new JsonObject().put("message", "two"))).error());
    assertThat(call("support", "mcp.every.echo", new JsonObject().put("message", "three")).text())
      .isEqualTo("Echo: three");
    assertThat(children()).doesNotContain(pid).hasSize(1);
  }

  @Test
  void aCallLongerThanItsTimeoutIsAToolResultAndTheServerGoesOn() throws Exception {
    deploy(config(stdioEverything(", timeout: 1s"), """
        - { id: support, models: { routine: sim-small }, skills: [mcp.every.*] }
      """), Map.of());
    // started first (a Node.js server's start is not bounded by the call timeout, only by the call's own budget)
    Fixtures.await("the server started", Duration.ofSeconds(60), () -> !quietly(() -> call("support", "mcp.every.echo",
      new JsonObject().put("message", "warm"))).error());
    ToolCall.Reply slow = call("support", "mcp.every.trigger-long-running-operation",
      new JsonObject().put("duration", 20).put("steps", 2));
    assertThat(slow.error()).isTrue();
    assertThat(slow.text()).contains("did not answer in time");
    assertThat(call("support", "mcp.every.echo", new JsonObject().put("message", "after")).text()).isEqualTo("Echo: after");
  }

  @Test
  void aCancelledTurnCutsItsToolCallShort() throws Exception {
    deploy(config(stdioEverything(""), """
        - { id: support, models: { routine: sim-small }, skills: [mcp.every.*] }
      """), Map.of());
    call("support", "mcp.every.echo", new JsonObject().put("message", "warm"));
    String callId = ToolCall.newCallId();
    JsonObject body = new ToolCall.Request("support", null, "s1", "mcp.every.trigger-long-running-operation",
      new JsonObject().put("duration", 60).put("steps", 2), callId).toJson();
    MessageAuth.Signer signer = MessageAuth.Signer.of(SECRET, "support");
    var pending = vertx.eventBus().<JsonObject>request(ToolCall.ADDRESS, body,
      signer.signLocal(ToolCall.ADDRESS, new DeliveryOptions().setSendTimeout(120_000)));
    vertx.setTimer(1_000, t -> {
      JsonObject cancel = new JsonObject().put("call_id", callId);
      vertx.eventBus().send(ToolCall.CANCEL_ADDRESS, cancel, signer.sign(ToolCall.CANCEL_ADDRESS, cancel, null));
    });
    ToolCall.Reply reply = ToolCall.Reply.fromJson(pending.await(30, TimeUnit.SECONDS).body());
    assertThat(reply.error()).isTrue();
    assertThat(reply.text()).contains("cancelled");
  }

  @Test
  void theFilesystemServerReadsItsFolderAndRefusesOthers() throws Exception {
    Path outside = Fixtures.freshDir();
    Files.writeString(outside.resolve("secret.txt"), "not yours");
    deploy(config("    files: { command: [node, \"" + filesystem() + "\", \"" + shared + "\"], local: true }\n", """
        - { id: support, models: { routine: sim-small }, skills: [mcp.files.read_text_file, mcp.files.list_directory] }
      """), Map.of());
    assertThat(names(tools("support"))).containsExactlyInAnyOrder("mcp.files.read_text_file",
      "mcp.files.list_directory");
    assertThat(call("support", "mcp.files.read_text_file", new JsonObject().put("path", shared.resolve("notes.txt")
      .toString())).text()).contains("the launch is on Tuesday");
    ToolCall.Reply denied = call("support", "mcp.files.read_text_file",
      new JsonObject().put("path", outside.resolve("secret.txt").toString()));
    assertThat(denied.error()).isTrue();
    assertThat(denied.text()).doesNotContain("not yours");
    ToolCall.Reply write = call("support", "mcp.files.write_file", new JsonObject().put("path",
      shared.resolve("x.txt").toString()).put("content", "x"));
    assertThat(write.text()).contains("not allowed for this agent");
    assertThat(shared.resolve("x.txt")).doesNotExist();
  }

  @Test
  void aStreamableHttpServerIsReachedOverHttp() throws Exception {
    int port = Fixtures.freePort();
    ProcessBuilder pb = new ProcessBuilder("node", everything(), "streamableHttp").redirectErrorStream(true)
      .redirectOutput(ProcessBuilder.Redirect.DISCARD);
    pb.environment().put("PORT", Integer.toString(port));
    servers.add(pb.start());
    Fixtures.await("the HTTP server listening", Duration.ofSeconds(60), () -> listening(port));
    deploy(config("    web: { url: \"http://127.0.0.1:" + port + "/mcp\", headers: { X-Team: support } }\n", """
        - { id: support, models: { routine: sim-small }, skills: [mcp.web.*] }
      """), Map.of());
    assertThat(names(tools("support"))).contains("mcp.web.echo", "mcp.web.get-sum");
    assertThat(call("support", "mcp.web.echo", new JsonObject().put("message", "over http")).text())
      .isEqualTo("Echo: over http");
    assertThat(call("support", "mcp.web.get-sum", new JsonObject().put("a", 1).put("b", 2)).text()).contains("3");
    ToolCall.Reply slow = call("support", "mcp.web.trigger-long-running-operation",
      new JsonObject().put("duration", 1).put("steps", 2));
    assertThat(slow.error()).isFalse();
    assertThat(slow.text()).containsIgnoringCase("long running operation completed");
  }

  @Test
  void aSensitiveAgentReachesOnlyLocalServersEvenIfTheConfigWereBypassed() throws Exception {
    HubConfig parsed = config(stdioEverything(""), """
        - { id: vault, trust: sensitive, models: { routine: sim-small }, skills: [mcp.every.*] }
      """);
    HubConfig.McpServer local = parsed.mcp().servers().get("every");
    HubConfig.McpServer remote = new HubConfig.McpServer(local.name(), local.command(), local.env(), local.url(),
      local.headers(), false, local.timeoutMs(), local.maxConcurrent(), local.maxResultChars(), local.approve(),
      local.approveAll(), local.approvalTimeoutMs());
    HubConfig bypassed = parsed.withMcp(new HubConfig.Mcp(Map.of("every", remote)));
    deploy(bypassed, Map.of());
    assertThat(tools("vault")).isEmpty();
    ToolCall.Reply refused = call("vault", "mcp.every.echo", new JsonObject().put("message", "leak"));
    assertThat(refused.error()).isTrue();
    assertThat(refused.text()).contains("sensitive agent may not use MCP server 'every'");
  }

  private interface Step<T> {
    T run() throws Exception;
  }

  private static <T> T quietly(Step<T> step) {
    try {
      return step.run();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static Throwable failure(Future<?> f) throws Exception {
    try {
      f.await(30, TimeUnit.SECONDS);
    } catch (TimeoutException e) {
      throw e;
    } catch (Exception e) {
      return f.cause();
    }
    throw new AssertionError("expected a failure, got " + f.result());
  }

  private static boolean listening(int port) {
    try (Socket s = new Socket("127.0.0.1", port)) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  @Test
  void aFaultyServersPagesHangsDeathsSizesSchemasAndChangesAreHandled() throws Exception {
    Path script = Path.of(getClass().getResource("/faulty-mcp-server.mjs").toURI());
    Path cancels = Fixtures.freshDir().resolve("cancels.log");
    deploy(config("    faulty: { command: [node, \"" + script + "\"], local: true, timeout: 2s, max-result: 1KiB, "
      + "env: { CANCEL_LOG: \"" + cancels + "\" } }\n", """
        - { id: support, models: { routine: sim-small }, skills: [mcp.faulty.*] }
      """), Map.of());
    // both pages, the line that is not JSON ignored
    assertThat(names(tools("support"))).containsExactlyInAnyOrder("mcp.faulty.hang", "mcp.faulty.die",
      "mcp.faulty.big", "mcp.faulty.weird-schema", "mcp.faulty.counter");
    // a schema that is not one: the arguments are only checked to be an object
    assertThat(call("support", "mcp.faulty.weird-schema", new JsonObject().put("q", 1)).text()).isEqualTo("weird ok");
    // a result above max-result is cut with a note
    String big = call("support", "mcp.faulty.big", new JsonObject()).text();
    assertThat(big).startsWith("xxxx").contains("[cut: ").hasSizeLessThan(1200);
    // a hang ends at the timeout as a tool result, and the server is told to stop
    ToolCall.Reply hung = call("support", "mcp.faulty.hang", new JsonObject());
    assertThat(hung.error()).isTrue();
    assertThat(hung.text()).contains("did not answer in time");
    Fixtures.await("the server was told to stop the call", Duration.ofSeconds(30),
      () -> Files.exists(cancels) && quietly(() -> Files.readString(cancels)).contains("requestId"));
    // the list changes: the next listing has the new tool
    assertThat(call("support", "mcp.faulty.counter", new JsonObject()).text()).isEqualTo("counted");
    Fixtures.await("the changed list", Duration.ofSeconds(30), () -> names(quietly(() -> tools("support")))
      .contains("mcp.faulty.fresh"));
    assertThat(call("support", "mcp.faulty.fresh", new JsonObject()).text()).isEqualTo("fresh ok");
    // death mid-call: the call fails as a tool result, the server is started again
    ToolCall.Reply died = call("support", "mcp.faulty.die", new JsonObject());
    assertThat(died.error()).isTrue();
    assertThat(died.text()).contains("server");
    Fixtures.await("a call after the server died", Duration.ofSeconds(60), () -> !quietly(() -> call("support",
      "mcp.faulty.weird-schema", new JsonObject())).error());
  }

  /** This JVM's child processes running server-everything over stdio. */
  private static List<Long> children() {
    return ProcessHandle.current().children().filter(p -> p.info().commandLine().orElse("").contains("stdio"))
      .map(ProcessHandle::pid).toList();
  }
}
