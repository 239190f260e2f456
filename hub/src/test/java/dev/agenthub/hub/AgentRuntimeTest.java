package dev.agenthub.hub;

import dev.agenthub.hub.HubNode;
import dev.agenthub.protocol.Failure;
import dev.agenthub.protocol.MessageAuth;
import dev.agenthub.protocol.Turn;
import dev.agenthub.testing.Fixtures;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.http.HttpServer;
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
import java.time.Instant;
import java.time.LocalDate;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/** The agent runtime on a real node: transcripts, skills, routing, heartbeats, limits. */
class AgentRuntimeTest {

  private static HubNode node;
  private static Path dir;
  private static HttpServer site;
  private static final Path auditDir = Fixtures.freshDir();

  @BeforeAll
  static void start() throws Exception {
    dir = Fixtures.freshDir();
    Files.createDirectories(dir.resolve("agents/ops"));
    Files.writeString(dir.resolve("agents/ops/MEMORY.md"), "# Notes\n\nThe on-call phone is 555-0100.\n");
    Files.createDirectories(dir.resolve("agents/ops/skills/restarts"));
    Files.writeString(dir.resolve("agents/ops/skills/restarts/SKILL.md"),
      "---\nname: restarts\ndescription: how to restart the web tier\n---\nDrain first, then restart one node at a time.\n");
    Files.createDirectories(dir.resolve("shared"));
    Files.writeString(dir.resolve("shared/policies.md"), "# Policies\n\nRefunds within 30 days.\n");
    site = Vertx.vertx().createHttpServer()
      .requestHandler(req -> req.response().end("status page: all green")).listen(0, "127.0.0.1")
      .await(30, TimeUnit.SECONDS);
    String yaml = """
      node: { name: rt1, roles: [general], http: { port: 0, request-timeout: 30s } }
      memory: { dir: "%s" }
      ledger: { dir: "%s" }
      audit: { dir: "%s" }
      providers:
        sim: { type: sim, latency-ms: 0 }
        slow: { type: sim, latency-ms: 3000 }
      models:
        sim-large: { provider: sim, input: 2.50, output: 10.00 }
        sim-small: { provider: sim, input: 0.15, output: 0.60 }
        slow-model: { provider: slow }
      agents:
        - { id: support, models: { routine: sim-small, complex: sim-large },
            skills: [memory.read, memory.append, time.now, agent.delegate, http.fetch], http-hosts: [127.0.0.1],
            memory: { read: [shared], write: [shared] } }
        - { id: ops, models: { routine: sim-small, complex: sim-large },
            skills: [memory.read, memory.append, memory.search, time.now, agent.delegate],
            memory: { read: [shared], write: [shared] } }
        - { id: assistant, trust: sensitive, models: { routine: sim-small, complex: sim-large },
            skills: [memory.read, memory.append, time.now] }
        - { id: pulse, models: { routine: sim-small }, heartbeat: { every: 1s }, skills: [time.now] }
        - { id: sloth, models: { routine: slow-model }, limits: { turn-timeout: 500ms } }
        - { id: twin, instances: 2, models: { routine: sim-small } }
      """.formatted(dir, Fixtures.freshDir(), auditDir);
    node = TestHub.start(yaml);
  }

  @AfterAll
  static void stop() throws Exception {
    node.close().await(1, TimeUnit.MINUTES);
    site.close();
  }

  private static HttpResponse<String> send(String agent, String session, String text, String key) throws Exception {
    JsonObject body = new JsonObject().put("session", session).put("text", text);
    if (key != null) {
      body.put("idempotency_key", key);
    }
    return TestHub.post(node.url() + "/v1/agents/" + agent + "/messages", body.encode());
  }

  private static JsonObject ok(String agent, String session, String text) throws Exception {
    HttpResponse<String> r = send(agent, session, text, null);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return new JsonObject(r.body());
  }

  private static String metrics() throws Exception {
    return TestHub.get(node.url() + "/metrics").body();
  }

  @Test
  void eachTurnIsWrittenToTheTranscriptInOrder() throws Exception {
    ok("support", "t1", "Where is order 9?");
    ok("support", "t1", "And order 10?");
    String transcript = Files.readString(dir.resolve("agents/support/sessions/t1.md"));
    List<String> roles = new ArrayList<>();
    Matcher m = Pattern.compile("(?m)^## \\S+ (user|assistant|tool)$").matcher(transcript);
    while (m.find()) {
      roles.add(m.group(1));
    }
    assertThat(roles).containsExactly("user", "assistant", "user", "assistant");
    assertThat(transcript).contains("Where is order 9?").contains("And order 10?");
  }

  @Test
  void theContextComesFromTheAgentsFiles() throws Exception {
    // the sim answers from the prompt; its input tokens show the files made it into the context
    long bare = ok("assistant", "ctx-a", "hello").getJsonObject("usage").getLong("input_tokens");
    long withFiles = ok("ops", "ctx-o", "hello").getJsonObject("usage").getLong("input_tokens");
    assertThat(withFiles).isGreaterThan(bare + 20);
  }

  @Test
  void toolsRunThroughTheSkillPolicy() throws Exception {
    JsonObject time = ok("support", "tools-1", "/tool time.now {}");
    assertThat(time.getString("reply")).containsPattern("Tool result: \\d{4}-\\d\\d-\\d\\dT");
    assertThat(Files.readString(dir.resolve("agents/support/sessions/tools-1.md"))).contains("tool\n\ntime.now {}");

    ok("support", "tools-2", "Please remember that the VPN password rotates on Mondays");
    assertThat(Files.readString(dir.resolve("agents/support/MEMORY.md"))).contains("the VPN password rotates on Mondays");

    JsonObject fetched = ok("support", "tools-3", "/tool http.fetch {\"url\":\"http://127.0.0.1:" + site.actualPort() + "/\"}");
    assertThat(fetched.getString("reply")).contains("status page: all green");
    JsonObject elsewhere = ok("support", "tools-4", "/tool http.fetch {\"url\":\"http://localhost:" + site.actualPort() + "/\"}");
    assertThat(elsewhere.getString("reply")).contains("not one this agent may reach").doesNotContain("all green");

    JsonObject read = ok("ops", "tools-5", "/tool memory.read {\"path\":\"shared/policies.md\"}");
    assertThat(read.getString("reply")).contains("Refunds within 30 days");
    JsonObject search = ok("ops", "tools-6", "/tool memory.search {\"query\":\"on-call\"}");
    assertThat(search.getString("reply")).contains("agents/ops/MEMORY.md:3");
  }

  @Test
  void aSkillOutsideTheAllowlistNeverRuns() throws Exception {
    JsonObject r = ok("assistant", "deny-1",
      "/tool http.fetch {\"url\":\"http://127.0.0.1:" + site.actualPort() + "/\"}\n"
        + "/tool memory.append {\"path\":\"shared/leak.md\",\"text\":\"secret\"}\n/tool agent.delegate {\"agent\":\"ops\",\"text\":\"hi\"}");
    assertThat(r.getString("reply")).contains("error: skill 'http.fetch' is not allowed")
      .contains("error: skill 'agent.delegate' is not allowed").doesNotContain("all green");
    assertThat(Files.exists(dir.resolve("shared/leak.md"))).isFalse();
    assertThat(metrics()).contains("agenthub_skill_calls_total{agent=\"assistant\",outcome=\"refused\",skill=\"http.fetch\"}")
      .contains("agenthub_refused_total{reason=\"skill_not_allowed\"}");
    Fixtures.await("the refusals are audited", Duration.ofSeconds(30), () -> {
      try {
        // a file per month: rt1.<YYYY-MM>.jsonl
        String audit = Files.readString(auditDir.resolve("rt1." + YearMonth.now(ZoneOffset.UTC)
          + ".jsonl"));
        return audit.contains("\"type\":\"skill_refused\"") && audit.contains("\"skill\":\"http.fetch\"");
      } catch (Exception e) {
        return false;
      }
    });
  }

  @Test
  void agentsAskEachOtherWithABoundOnDepth() throws Exception {
    JsonObject r = ok("support", "deleg-1", "/tool agent.delegate {\"agent\":\"ops\",\"text\":\"is the web tier up?\"}");
    assertThat(r.getString("reply")).contains("Tool result:").contains("is the web tier up?");
    // a turn that is already three hops deep may not delegate again
    String address = Turn.address("support", "support-0@rt1");
    JsonObject turn = Turn.Request.of("deleg-2", "/tool agent.delegate {\"agent\":\"ops\",\"text\":\"again\"}")
      .depth(3).build().toJson();
    Message<JsonObject> deep = node.vertx().eventBus().<JsonObject>request(address, turn,
      asNode().sign(address, turn, null)).await(30, TimeUnit.SECONDS);
    assertThat(deep.body().getString("reply")).contains("delegation deeper than 3");
  }

  @Test
  void aTurnNotSignedByANodeIsRefused() {
    // a peer on the event bus cannot run turns past client authentication, nor can an agent's own key
    String address = Turn.address("support", "support-0@rt1");
    JsonObject turn = Turn.Request.of("intruder", "hi").build().toJson();
    String otherSecret = MessageAuth.Signer.of("another-secret".getBytes(StandardCharsets.UTF_8),
      MessageAuth.nodePrincipal("rt1")).header(address, turn);
    for (String header : new String[]{null, "forged", otherSecret, node.signer("support").header(address, turn),
      asNode().header(Turn.address("support", "support-1@rt1"), turn)}) {
      DeliveryOptions options = new DeliveryOptions();
      if (header != null) {
        options.addHeader(MessageAuth.HEADER, header);
      }
      var refused = node.vertx().eventBus().request(address, turn, options);
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> refused.await(30, TimeUnit.SECONDS))
        .isInstanceOf(ReplyException.class)
        .satisfies(e -> assertThat(((ReplyException) e).failureCode()).isEqualTo(403));
    }
  }

  @Test
  void theRouterPicksAndEscalates() throws Exception {
    assertThat(ok("ops", "route-1", "hi there").getString("model")).isEqualTo("sim-small");
    assertThat(ok("ops", "route-2", "Please analyze the outage step by step").getString("model")).isEqualTo("sim-large");
    assertThat(ok("ops", "route-3", "/complex\nshort but hard").getString("model")).isEqualTo("sim-large");
    assertThat(ok("ops", "route-4", "x".repeat(1600)).getString("model")).isEqualTo("sim-large");
    JsonObject escalated = ok("ops", "route-5", "/fail sim-small\nthe small model will fail this");
    assertThat(escalated.getString("model")).isEqualTo("sim-large");
    assertThat(metrics()).contains("agenthub_route_total{agent=\"ops\",route=\"escalated\"} 1.0")
      .contains("agenthub_route_total{agent=\"ops\",route=\"complex\"}")
      .contains("agenthub_route_total{agent=\"ops\",route=\"routine\"}");
  }

  @Test
  void aRetriedMessageGetsTheFirstAnswerNotASecondTurn() throws Exception {
    HttpResponse<String> first = send("support", "idem-1", "charge my card", "key-1");
    HttpResponse<String> again = send("support", "idem-1", "charge my card", "key-1");
    assertThat(again.body()).isEqualTo(first.body());
    String transcript = Files.readString(dir.resolve("agents/support/sessions/idem-1.md"));
    assertThat(transcript.split(" user\n\ncharge my card", -1)).as("one user turn").hasSize(2);
    assertThat(transcript.split(" assistant\n\n", -1)).as("one answer").hasSize(2);
  }

  @Test
  void aStuckModelCallTimesOutAndTheSessionMovesOn() throws Exception {
    HttpResponse<String> r = send("sloth", "stuck", "anyone there?", null);
    assertThat(r.statusCode()).isEqualTo(504);
    assertThat(new JsonObject(r.body()).getJsonObject("error").getString("message")).contains("longer than 500 ms");
    HttpResponse<String> next = send("sloth", "stuck", "still there?", null);
    assertThat(next.statusCode()).isEqualTo(504);
  }

  @Test
  void manySessionsAtOnceAreAllAnswered() throws Exception {
    List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      calls.add(TestHub.HTTP.sendAsync(HttpRequest.newBuilder(
          URI.create(node.url() + "/v1/agents/ops/messages")).timeout(Duration.ofMinutes(1))
        .POST(HttpRequest.BodyPublishers.ofString(
          new JsonObject().put("session", "many-" + i).put("text", "hello " + i).encode())).build(),
        HttpResponse.BodyHandlers.ofString()));
    }
    for (int i = 0; i < calls.size(); i++) {
      HttpResponse<String> r = calls.get(i).get(2, TimeUnit.MINUTES);
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      assertThat(new JsonObject(r.body()).getString("reply")).contains("hello " + i);
    }
  }

  @Test
  void heartbeatsMakeNoModelCallWithoutTasksAndBeatOncePerInterval() throws Exception {
    Fixtures.await("a skipped heartbeat", Duration.ofSeconds(30),
      () -> metric("agenthub_heartbeats_total{agent=\"pulse\",outcome=\"skipped\"}") >= 2);
    assertThat(metric("agenthub_model_calls_total{agent=\"pulse\",model=\"sim-small\",outcome=\"ok\",provider=\"sim\"}"))
      .isZero();

    Files.createDirectories(dir.resolve("agents/pulse"));
    Files.writeString(dir.resolve("agents/pulse/HEARTBEAT.md"), "# Checklist\n\n- [ ] check the backups\n- [x] done\n");
    String daily = "agents/pulse/daily/" + LocalDate.now(ZoneOffset.UTC) + ".md";
    Fixtures.await("three heartbeats logged", Duration.ofSeconds(60), () -> entries(dir.resolve(daily)).size() >= 3);
    assertThat(Files.readString(dir.resolve(daily))).contains("check the backups");
    List<Instant> beats = entries(dir.resolve(daily));
    for (int i = 1; i < beats.size(); i++) {
      assertThat(Duration.between(beats.get(i - 1), beats.get(i))).as("one beat per interval")
        .isGreaterThanOrEqualTo(Duration.ofMillis(900));
    }

    Files.writeString(dir.resolve("agents/pulse/HEARTBEAT.md"), "- check that the sun rose\n");
    Fixtures.await("a suppressed HEARTBEAT_OK", Duration.ofSeconds(30),
      () -> metric("agenthub_heartbeats_total{agent=\"pulse\",outcome=\"suppressed\"}") >= 1);
    Files.delete(dir.resolve("agents/pulse/HEARTBEAT.md"));
  }

  private static List<Instant> entries(Path file) {
    List<Instant> out = new ArrayList<>();
    try {
      Matcher m = Pattern.compile("(?m)^## (\\S+) heartbeat$").matcher(Files.readString(file));
      while (m.find()) {
        out.add(Instant.parse(m.group(1)));
      }
    } catch (Exception e) {
      // not written yet
    }
    return out;
  }

  private static double metric(String series) {
    try {
      for (String line : metrics().split("\n")) {
        if (line.startsWith(series + " ")) {
          return Double.parseDouble(line.substring(series.length() + 1));
        }
      }
    } catch (Exception e) {
      return -1;
    }
    return 0;
  }

  private static Future<Message<JsonObject>> turnAt(String instance, String session, String text) {
    String address = Turn.address("twin", instance);
    JsonObject turn = Turn.Request.of(session, text).build().toJson();
    return node.vertx().eventBus().request(address, turn, asNode().sign(address, turn, null));
  }

  /** Turns on an instance's address are signed by a node, as its dispatcher signs them. */
  private static MessageAuth.Signer asNode() {
    return node.signer(MessageAuth.nodePrincipal(node.config().node().name()));
  }

  @Test
  void anInstanceThatLostItsSessionCannotWriteItAnyMore() throws Exception {
    // the session is served by one instance, then moves to the other (rebalancing, or a paused node
    // declared dead), then comes back: the first instance still holds its old history and claim
    turnAt("twin-0@rt1", "moving", "first question").await(30, TimeUnit.SECONDS);
    turnAt("twin-1@rt1", "moving", "second question").await(30, TimeUnit.SECONDS);
    var fenced = turnAt("twin-0@rt1", "moving", "third question");
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> fenced.await(30, TimeUnit.SECONDS))
      .isInstanceOf(Failure.class)
      .satisfies(e -> assertThat(((Failure) e).kind()).isEqualTo(Failure.Kind.SESSION_MOVED));
    // sent again, it reads the session back (with the other instance's turn) and claims it anew
    turnAt("twin-0@rt1", "moving", "third question").await(30, TimeUnit.SECONDS);
    String transcript = Files.readString(dir.resolve("agents/twin/sessions/moving.md"));
    List<String> roles = new ArrayList<>();
    Matcher m = Pattern.compile("(?m)^## \\S+ (user|assistant|tool)$").matcher(transcript);
    while (m.find()) {
      roles.add(m.group(1));
    }
    assertThat(roles).containsExactly("user", "assistant", "user", "assistant", "user", "assistant");
    assertThat(transcript.split(" user\n\nthird question", -1)).as("the fenced turn wrote nothing").hasSize(2);
    // the model saw the whole conversation, the other instance's turn included
    assertThat(transcript).contains("message 3 of our conversation");
  }

  @Test
  void theGatewaySendsATurnWhoseSessionMovedToTheOwnerAgain() throws Exception {
    // the gateway's instance has the session in RAM; the other instance takes it over meanwhile
    JsonObject first = ok("twin", "moved-by-gateway", "first question");
    String owner = first.getString("instance");
    String other = owner.startsWith("twin-0") ? "twin-1@rt1" : "twin-0@rt1";
    turnAt(other, "moved-by-gateway", "second question").await(30, TimeUnit.SECONDS);
    // the owner's claim is fenced: its first try fails, the gateway sends the turn again, and the
    // owner reads the session back (with the other instance's turn) and answers
    JsonObject third = ok("twin", "moved-by-gateway", "third question");
    assertThat(third.getString("instance")).isEqualTo(owner);
    assertThat(third.getString("reply")).contains("message 3 of our conversation");
    String transcript = Files.readString(dir.resolve("agents/twin/sessions/moved-by-gateway.md"));
    assertThat(transcript.split(" user\n\n", -1)).as("three questions").hasSize(4);
    assertThat(transcript.split(" assistant\n\n", -1)).as("three answers").hasSize(4);
  }
}
