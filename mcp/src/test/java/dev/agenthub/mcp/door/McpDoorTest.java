package dev.agenthub.mcp.door;

import dev.agenthub.protocol.Failure;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntConsumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The door's JSON-RPC over one exchange, against an intake that stands for the node. */
class McpDoorTest {

  private static final String A = "Bearer token-a";
  private static final String B = "Bearer token-b";

  /** The node: token a may use support and ops, token b assistant; turns wait for the test. */
  private static final class Node implements McpDoor.Intake {
    final Map<String, List<String>> rights = Map.of(A, List.of("support", "ops"), B, List.of("assistant"));
    final List<McpDoor.Question> asked = new ArrayList<>();
    final List<Promise<JsonObject>> turns = new ArrayList<>();
    final List<IntConsumer> progress = new ArrayList<>();
    final List<Future<Void>> cancels = new ArrayList<>();

    @Override
    public List<McpDoor.Agent> agents(String authorization) {
      return rights.get(authorization).stream().map(a -> new McpDoor.Agent(a, a.equals("ops") ? "Runs things." : null))
        .toList();
    }

    @Override
    public Future<JsonObject> ask(McpDoor.Question q, IntConsumer progress, Future<Void> cancelled) {
      if (!List.of("support", "ops", "assistant").contains(q.agent())) {
        throw new Failure(Failure.Kind.NOT_FOUND, "unknown agent");
      }
      if (!rights.get(q.authorization()).contains(q.agent())) {
        throw new Failure(Failure.Kind.FORBIDDEN, "this token may not use agent '" + q.agent() + "'");
      }
      asked.add(q);
      this.progress.add(progress);
      cancels.add(cancelled);
      Promise<JsonObject> turn = Promise.promise();
      turns.add(turn);
      return turn.future();
    }
  }

  /** One exchange as the door sees it, and what it answered. */
  private static final class Exchange implements McpDoor.Exchange {
    final Map<String, String> headers = new HashMap<>();
    final Buffer body;
    Integer status;
    Map<String, String> answerHeaders;
    String json;
    boolean events;
    final StringBuilder stream = new StringBuilder();
    boolean ended;

    Exchange(String body, String authorization, String session) {
      this.body = Buffer.buffer(body);
      headers.put("authorization", authorization);
      if (session != null) {
        headers.put("mcp-session-id", session);
      }
    }

    Exchange header(String name, String value) {
      headers.put(name.toLowerCase(), value);
      return this;
    }

    @Override
    public String header(String name) {
      return headers.get(name.toLowerCase());
    }

    @Override
    public Buffer body() {
      return body;
    }

    @Override
    public void answer(int status, Map<String, String> headers, String json) {
      assertThat(this.status).as("answered once").isNull();
      assertThat(events).as("no whole answer after events began").isFalse();
      this.status = status;
      this.answerHeaders = headers;
      this.json = json;
    }

    @Override
    public void startEvents() {
      assertThat(status).isNull();
      events = true;
      status = 200;
    }

    @Override
    public void write(String events) {
      assertThat(ended).isFalse();
      stream.append(events);
    }

    @Override
    public void end() {
      ended = true;
    }

    JsonObject response() {
      return new JsonObject(json);
    }

    /** The JSON-RPC messages of the event stream, in order. */
    List<JsonObject> messages() {
      List<JsonObject> out = new ArrayList<>();
      for (String event : stream.toString().split("\n\n")) {
        if (!event.isEmpty()) {
          assertThat(event).startsWith("event: message\ndata: ");
          out.add(new JsonObject(event.substring("event: message\ndata: ".length())));
        }
      }
      return out;
    }
  }

  private final Node node = new Node();
  private final DoorSessions sessions = new DoorSessions();
  private final McpDoor door = new McpDoor(node, sessions);

  private Exchange post(String body, String authorization, String session) {
    Exchange ex = new Exchange(body, authorization, session);
    door.post(ex);
    return ex;
  }

  private static String request(Object id, String method, JsonObject params) {
    return new JsonObject().put("jsonrpc", "2.0").put("id", id).put("method", method).put("params", params).encode();
  }

  private static String initialize(String version) {
    return request(0, "initialize", new JsonObject().put("protocolVersion", version)
      .put("capabilities", new JsonObject()).put("clientInfo", new JsonObject().put("name", "t").put("version", "1")));
  }

  private String session(String authorization) {
    Exchange ex = post(initialize("2025-06-18"), authorization, null);
    return ex.answerHeaders.get(McpDoor.SESSION_HEADER);
  }

  private static String call(Object id, String tool, JsonObject arguments, JsonObject meta) {
    JsonObject params = new JsonObject().put("name", tool).put("arguments", arguments);
    if (meta != null) {
      params.put("_meta", meta);
    }
    return request(id, "tools/call", params);
  }

  @Test
  void initializeAnswersTheRevisionItSupportsThatTheClientAskedForAndOpensASession() {
    for (String[] pair : new String[][] {{"2025-11-25", "2025-11-25"}, {"2025-06-18", "2025-06-18"},
      {"2025-03-26", "2025-03-26"}, {"2024-11-05", "2025-06-18"}, {"2099-01-01", "2025-06-18"}}) {
      Exchange ex = post(initialize(pair[0]), A, null);
      assertThat(ex.status).isEqualTo(200);
      JsonObject result = ex.response().getJsonObject("result");
      assertThat(ex.response().getInteger("id")).isZero();
      assertThat(result.getString("protocolVersion")).as(pair[0]).isEqualTo(pair[1]);
      assertThat(result.getJsonObject("capabilities").containsKey("tools")).isTrue();
      assertThat(result.getJsonObject("serverInfo").getString("name")).isEqualTo("agenthub");
      // an id to see only in visible ASCII, long enough that no one guesses it
      assertThat(ex.answerHeaders.get(McpDoor.SESSION_HEADER)).matches("[A-Za-z0-9_-]{43}");
    }
    assertThat(sessions.size()).isEqualTo(5);
    assertThat(session(A)).isNotEqualTo(session(A));
    Exchange bad = post(request(1, "initialize", new JsonObject()), A, null);
    assertThat(bad.response().getJsonObject("error").getInteger("code")).isEqualTo(-32602);
  }

  @Test
  void everyLaterMessageNeedsASessionOfItsOwnTokenAndASupportedRevision() {
    String mine = session(A);
    Exchange none = post(request(1, "ping", null), A, null);
    assertThat(none.status).isEqualTo(400);
    assertThat(none.response().getJsonObject("error").getString("message")).contains("Mcp-Session-Id");
    assertThat(post(request(1, "ping", null), A, "no-such-session").status).isEqualTo(404);
    assertThat(post(request(1, "ping", null), B, mine).status).as("another token's session").isEqualTo(404);
    assertThat(post(request(1, "ping", null), null, mine).status).isEqualTo(404);
    Exchange old = new Exchange(request(1, "ping", null), A, mine).header("MCP-Protocol-Version", "2024-11-05");
    door.post(old);
    assertThat(old.status).isEqualTo(400);
    assertThat(old.response().getJsonObject("error").getString("message")).contains("2024-11-05");
    Exchange ok = new Exchange(request(1, "ping", null), A, mine).header("MCP-Protocol-Version", "2025-06-18");
    door.post(ok);
    assertThat(ok.status).isEqualTo(200);
    assertThat(ok.response().getJsonObject("result")).isEqualTo(new JsonObject());
    // "bearer" spelt otherwise is the same token
    assertThat(post(request(2, "ping", null), "bearer   token-a", mine).status).isEqualTo(200);
    Exchange note = post(new JsonObject().put("jsonrpc", "2.0").put("method", "notifications/initialized").encode(),
      A, mine);
    assertThat(note.status).isEqualTo(202);
    assertThat(note.json).isNull();
    assertThat(post(new JsonObject().put("jsonrpc", "2.0").put("method", "notifications/initialized").encode(),
      A, "gone").status).isEqualTo(404);
  }

  @Test
  void malformedMessagesGetTheirJsonRpcErrorAndNeverAStackTrace() {
    String s = session(A);
    Map<String, Integer> cases = new HashMap<>();
    cases.put("{not json", -32700);
    cases.put("", -32700);
    cases.put("[" + request(1, "ping", null) + "]", -32600);
    cases.put("42", -32600);
    cases.put("{\"id\":1,\"method\":\"ping\"}", -32600);
    cases.put("{\"jsonrpc\":\"2.0\",\"id\":true,\"method\":\"ping\"}", -32600);
    cases.put("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":7}", -32600);
    cases.put("{\"jsonrpc\":\"2.0\"}", -32600);
    cases.put(request(1, "resources/list", null), -32601);
    cases.put(request(1, "sampling/createMessage", new JsonObject()), -32601);
    cases.put("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\",\"params\":[1]}", -32602);
    cases.put(request(1, "tools/list", new JsonObject().put("cursor", "x")), -32602);
    for (var c : cases.entrySet()) {
      Exchange ex = post(c.getKey(), A, s);
      assertThat(ex.response().getJsonObject("error").getInteger("code")).as(c.getKey()).isEqualTo(c.getValue());
      assertThat(ex.status).as(c.getKey()).isEqualTo(c.getValue() <= -32700 || c.getValue() == -32600 ? 400 : 200);
      assertThat(ex.json).doesNotContain("Exception").doesNotContain("\tat ");
    }
  }

  @Test
  void toolsListHoldsOneAskToolPerAgentOfTheToken() {
    JsonArray tools = post(request("l", "tools/list", null), A, session(A)).response().getJsonObject("result")
      .getJsonArray("tools");
    assertThat(tools.stream().map(t -> ((JsonObject) t).getString("name"))).containsExactly("ask_support", "ask_ops");
    JsonObject ops = tools.getJsonObject(1);
    assertThat(ops.getString("description")).startsWith("Runs things.").contains("'ops'");
    assertThat(tools.getJsonObject(0).getString("description")).contains("'support'");
    JsonObject schema = ops.getJsonObject("inputSchema");
    assertThat(schema.getString("type")).isEqualTo("object");
    assertThat(schema.getJsonArray("required")).containsExactly("text");
    assertThat(schema.getJsonObject("properties").fieldNames()).containsExactlyInAnyOrder("text", "session");
    JsonArray others = post(request("l", "tools/list", null), B, session(B)).response().getJsonObject("result")
      .getJsonArray("tools");
    assertThat(others.stream().map(t -> ((JsonObject) t).getString("name"))).containsExactly("ask_assistant");
  }

  @Test
  void aCallIsATurnOfTheAgentAndItsReplyTheToolsText() {
    String s = session(A);
    Exchange ex = post(call(5, "ask_support", new JsonObject().put("text", "hello"), null), A, s);
    assertThat(ex.status).as("not answered before the turn").isNull();
    McpDoor.Question q = node.asked.get(0);
    assertThat(q.agent()).isEqualTo("support");
    assertThat(q.text()).isEqualTo("hello");
    assertThat(q.authorization()).isEqualTo(A);
    assertThat(q.session()).startsWith("mcp-").doesNotContain(s);
    assertThat(node.progress.get(0)).as("no progress asked for").isNull();
    node.turns.get(0).complete(new JsonObject().put("reply", "hi there").put("model", "sim-small")
      .put("cost_usd", 0.001));
    assertThat(ex.status).isEqualTo(200);
    JsonObject result = ex.response().getJsonObject("result");
    assertThat(ex.response().getInteger("id")).isEqualTo(5);
    assertThat(result.getBoolean("isError")).isFalse();
    assertThat(result.getJsonArray("content")).containsExactly(new JsonObject().put("type", "text").put("text", "hi there"));
    assertThat(result.getJsonObject("_meta").getJsonObject("dev.agenthub/reply").getString("model")).isEqualTo("sim-small");

    // the key: the same request id in the same MCP session is the same turn; elsewhere another
    post(call(5, "ask_support", new JsonObject().put("text", "hello"), null), A, s);
    post(call(6, "ask_support", new JsonObject().put("text", "hello").put("session", "mine"), null), A, s);
    post(call(5, "ask_support", new JsonObject().put("text", "hello"), null), A, session(A));
    post(call(7, "ask_support", new JsonObject().put("text", "hello"),
      new JsonObject().put("dev.agenthub/idempotency-key", "k-1")), A, s);
    List<String> keys = node.asked.stream().map(McpDoor.Question::idempotencyKey).toList();
    assertThat(keys.get(1)).isEqualTo(keys.get(0));
    assertThat(keys.get(2)).isNotEqualTo(keys.get(0));
    assertThat(keys.get(3)).isNotEqualTo(keys.get(0));
    assertThat(keys.get(4)).isEqualTo("k-1");
    assertThat(node.asked.get(2).session()).isEqualTo("mine");
    assertThat(node.asked.get(3).session()).as("another MCP session, another conversation")
      .isNotEqualTo(node.asked.get(0).session());
  }

  @Test
  void aTurnThatWaitsForAnApprovalSaysSoAndWhere() {
    String s = session(A);
    Exchange ex = post(call(1, "ask_support", new JsonObject().put("text", "delete bob"), null), A, s);
    JsonObject approval = new JsonObject().put("id", "ap-1").put("agent", "support").put("session", "mcp-x")
      .put("tool", "delete_contact").put("arguments", new JsonObject().put("name", "bob"));
    node.turns.get(0).complete(new JsonObject().put("reply", "Deleting bob.").put("finish_reason", "approval_required")
      .put("status", "approval_required").put("approval", approval));
    JsonObject result = ex.response().getJsonObject("result");
    assertThat(result.getBoolean("isError")).isFalse();
    assertThat(result.getJsonArray("content").getJsonObject(0).getString("text")).startsWith("Deleting bob.\n\n")
      .contains("'delete_contact'").contains("POST /v1/approvals/ap-1").contains("session 'mcp-x'");
    assertThat(result.getJsonObject("_meta").getJsonObject("dev.agenthub/reply").getJsonObject("approval"))
      .isEqualTo(approval);
  }

  @Test
  void badArgumentsAndToolsTheTokenHasNotAreInvalidParams() {
    String s = session(A);
    Map<String, String> cases = Map.of(
      call(1, "ask_support", new JsonObject(), null), "'text' is required",
      call(1, "ask_support", new JsonObject().put("text", "  "), null), "'text' must not be empty",
      call(1, "ask_support", new JsonObject().put("text", 3), null), "'text' must be a string",
      call(1, "ask_support", new JsonObject().put("text", "x").put("priority", "batch"), null), "unknown argument 'priority'",
      call(1, "ask_support", new JsonObject().put("text", "x").put("session", ".hidden"), null), "'session' must be",
      call(1, "ask_support", new JsonObject().put("text", "x"), new JsonObject().put("dev.agenthub/idempotency-key", 4)),
      "idempotency-key",
      call(1, "ask_assistant", new JsonObject().put("text", "x"), null), "Unknown tool: ask_assistant",
      call(1, "ask_nobody", new JsonObject().put("text", "x"), null), "Unknown tool: ask_nobody",
      call(1, "support", new JsonObject().put("text", "x"), null), "Unknown tool: support",
      request(1, "tools/call", new JsonObject().put("arguments", new JsonObject())), "'name'");
    for (var c : cases.entrySet()) {
      JsonObject error = post(c.getKey(), A, s).response().getJsonObject("error");
      assertThat(error.getInteger("code")).as(c.getKey()).isEqualTo(-32602);
      assertThat(error.getString("message")).as(c.getKey()).contains(c.getValue());
    }
    assertThat(node.asked).isEmpty();
  }

  @Test
  void aFailedTurnIsAToolErrorWithTheFailuresMessage() {
    String s = session(A);
    Exchange ex = post(call(1, "ask_support", new JsonObject().put("text", "x"), null), A, s);
    node.turns.get(0).fail(new Failure(Failure.Kind.BUDGET_EXCEEDED, "budget client:web exceeded", 3600L));
    JsonObject result = ex.response().getJsonObject("result");
    assertThat(result.getBoolean("isError")).isTrue();
    assertThat(result.getJsonArray("content").getJsonObject(0).getString("text"))
      .isEqualTo("budget client:web exceeded (budget_exceeded; retry after 3600 s)");
    assertThat(result.getJsonObject("_meta").getJsonObject("dev.agenthub/error").getInteger("status")).isEqualTo(429);

    Exchange internal = post(call(2, "ask_support", new JsonObject().put("text", "x"), null), A, s);
    node.turns.get(1).fail(new IllegalStateException("secret internals at /srv/x"));
    assertThat(internal.json).contains("internal error").doesNotContain("secret internals");
  }

  @Test
  void withAProgressTokenAndAnEventStreamTheAgentsProgressComesBeforeTheResult() {
    String s = session(A);
    Exchange ex = new Exchange(call(3, "ask_ops", new JsonObject().put("text", "x"),
      new JsonObject().put("progressToken", "p-1")), A, s).header("Accept", "application/json, text/event-stream");
    door.post(ex);
    assertThat(ex.events).isTrue();
    IntConsumer progress = node.progress.get(0);
    progress.accept(12);
    progress.accept(12); // no larger: not sent
    progress.accept(40);
    node.turns.get(0).complete(new JsonObject().put("reply", "the answer"));
    assertThat(ex.ended).isTrue();
    List<JsonObject> messages = ex.messages();
    assertThat(messages).hasSize(4);
    assertThat(messages.subList(0, 3)).allSatisfy(m -> {
      assertThat(m.getString("method")).isEqualTo("notifications/progress");
      assertThat(m.getJsonObject("params").getString("progressToken")).isEqualTo("p-1");
    });
    assertThat(messages.subList(0, 3).stream().map(m -> m.getJsonObject("params").getInteger("progress")))
      .containsExactly(0, 12, 40);
    assertThat(messages.get(3).getInteger("id")).isEqualTo(3);
    assertThat(messages.get(3).getJsonObject("result").getJsonArray("content").getJsonObject(0).getString("text"))
      .isEqualTo("the answer");

    // a client that does not read event streams gets its answer as JSON, with no progress
    Exchange plain = post(call(4, "ask_ops", new JsonObject().put("text", "x"),
      new JsonObject().put("progressToken", 9)), A, s);
    assertThat(node.progress.get(1)).isNull();
    node.turns.get(1).complete(new JsonObject().put("reply", "y"));
    assertThat(plain.events).isFalse();
    assertThat(plain.status).isEqualTo(200);
  }

  @Test
  void aCancelledCallStopsItsTurnAndIsAnsweredWithNothing() {
    String s = session(A);
    Exchange plain = post(call(8, "ask_support", new JsonObject().put("text", "x"), null), A, s);
    Exchange streamed = new Exchange(call("nine", "ask_support", new JsonObject().put("text", "x"),
      new JsonObject().put("progressToken", 1)), A, s).header("Accept", "text/event-stream, application/json");
    door.post(streamed);
    // another token cannot cancel them
    String other = session(B);
    assertThat(post(cancelled(8), B, other).status).isEqualTo(202);
    assertThat(node.cancels.get(0).isComplete()).isFalse();

    assertThat(post(cancelled(8.0), A, s).status).isEqualTo(202);
    assertThat(post(cancelled("nine"), A, s).status).isEqualTo(202);
    assertThat(node.cancels).allSatisfy(c -> assertThat(c.succeeded()).isTrue());
    assertThat(plain.status).isEqualTo(202);
    assertThat(plain.json).isNull();
    assertThat(streamed.ended).isTrue();
    assertThat(streamed.messages()).extracting(m -> m.getString("method")).containsOnly("notifications/progress");
    // the turn's late end writes nothing more
    node.turns.forEach(t -> t.complete(new JsonObject().put("reply", "late")));
    assertThat(streamed.stream.toString()).doesNotContain("late");
  }

  private static String cancelled(Object requestId) {
    return new JsonObject().put("jsonrpc", "2.0").put("method", "notifications/cancelled")
      .put("params", new JsonObject().put("requestId", requestId).put("reason", "user")).encode();
  }

  @Test
  void deleteEndsTheSessionOfItsTokenAndCancelsItsCalls() {
    String s = session(A);
    post(call(1, "ask_support", new JsonObject().put("text", "x"), null), A, s);
    Exchange noHeader = new Exchange("", A, null);
    door.delete(noHeader);
    assertThat(noHeader.status).isEqualTo(400);
    Exchange oldRevision = new Exchange("", A, s).header("MCP-Protocol-Version", "2024-10-07");
    door.delete(oldRevision);
    assertThat(oldRevision.status).isEqualTo(400);
    Exchange others = new Exchange("", B, s);
    door.delete(others);
    assertThat(others.status).isEqualTo(404);
    Exchange mine = new Exchange("", A, s);
    door.delete(mine);
    assertThat(mine.status).isEqualTo(204);
    assertThat(node.cancels.get(0).succeeded()).isTrue();
    assertThat(post(request(2, "ping", null), A, s).status).isEqualTo(404);
  }

  @Test
  void onlyPagesFromThisMachineOrNoPageMayCall() {
    for (String ok : new String[] {null, "http://localhost:6274", "http://127.0.0.1", "https://127.0.0.2:8443",
      "http://[::1]:3000", "http://LOCALHOST"}) {
      McpDoor.checkOrigin(ok);
    }
    for (String refused : new String[] {"https://evil.example", "http://localhost.evil.example", "null",
      "http://127.0.0.1.evil.example", "http://10.0.0.5:8080", "file://", "not a url"}) {
      assertThatThrownBy(() -> McpDoor.checkOrigin(refused)).as(refused).isInstanceOf(Failure.class)
        .satisfies(e -> assertThat(((Failure) e).kind()).isEqualTo(Failure.Kind.FORBIDDEN));
    }
  }
}
