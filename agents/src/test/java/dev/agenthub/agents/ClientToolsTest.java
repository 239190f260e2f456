package dev.agenthub.agents;

import dev.agenthub.protocol.Failure;
import dev.agenthub.protocol.ModelCall;
import dev.agenthub.protocol.ToolChoice;
import dev.agenthub.protocol.Turn;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ClientToolsTest {

  private static JsonObject tool(String name) {
    return new JsonObject().put("type", "function").put("function", new JsonObject().put("name", name)
      .put("parameters", new JsonObject()));
  }

  private static JsonObject m(String role, String text) {
    return new JsonObject().put("role", role).put("content", text);
  }

  /** An assistant step calling {@code ids} (the client's get_weather, the agent's time.now for "t..."). */
  private static JsonObject step(String... ids) {
    JsonArray calls = new JsonArray();
    for (String id : ids) {
      calls.add(ClientTools.call(id, id.startsWith("t") ? "time.now" : "get_weather", new JsonObject()));
    }
    return new JsonObject().put("role", "assistant").putNull("content").put("tool_calls", calls);
  }

  private static JsonArray results(String... ids) {
    JsonArray out = new JsonArray();
    for (String id : ids) {
      out.add(new JsonObject().put("tool_call_id", id).put("content", "result of " + id));
    }
    return out;
  }

  private static String param(Runnable r) {
    try {
      r.run();
    } catch (Failure f) {
      assertThat(f.kind()).isEqualTo(Failure.Kind.BAD_REQUEST);
      return f.param();
    }
    throw new AssertionError("no failure");
  }

  @Test
  void theClientsToolsComeFirstAndMayNotTakeAnAgentToolsWireName() {
    JsonArray agent = new JsonArray().add(tool("memory.read")).add(tool("mcp.files.read_file"));
    JsonArray offered = ClientTools.offered(new JsonArray().add(tool("get_weather")), agent);
    assertThat(offered).hasSize(3);
    assertThat(offered.getJsonObject(0).getJsonObject("function").getString("name")).isEqualTo("get_weather");
    assertThat(ClientTools.offered(null, agent)).isSameAs(agent);
    assertThat(param(() -> ClientTools.offered(new JsonArray().add(tool("a")).add(tool("mcp__files__read_file")), agent)))
      .isEqualTo("tools[1].function.name");
    assertThat(param(() -> ClientTools.offered(new JsonArray().add(tool("memory__read")), agent)))
      .isEqualTo("tools[0].function.name");
  }

  @Test
  void aCallIsTheClientsByItsWireName() {
    var names = ClientTools.names(new JsonArray().add(tool("get_weather")).add(tool("my__tool")));
    assertThat(ClientTools.clientTool(names, "get_weather")).isEqualTo("get_weather");
    // the provider client gave '__' back as '.'
    assertThat(ClientTools.clientTool(names, "my.tool")).isEqualTo("my__tool");
    assertThat(ClientTools.clientTool(names, "time.now")).isNull();
    assertThat(ClientTools.clientTool(ClientTools.names(null), "get_weather")).isNull();
  }

  @Test
  void aStepAndTheClientsResultsComeBackFromTheTranscriptAsChatMessages() {
    JsonObject step = step("c1", "t1").put("content", "Let me look.");
    String transcript = "# Session s\n\n"
      + "## 2026-12-07T10:00:00Z user\n\n/tool get_weather {\"city\":\"Paris\"}\n\n"
      + "## 2026-12-07T10:00:01Z tool\n\ntime.now {}\n\nnoon\n\n"
      + "## 2026-12-07T10:00:01Z " + ClientTools.STEP_ENTRY + "\n\n"
      + ClientTools.stepEntry(step, List.of(ClientTools.result("t1", "noon"))) + "\n\n"
      + "## 2026-12-07T10:00:05Z " + ClientTools.RESULT_ENTRY + "\n\n"
      + ClientTools.resultEntry(results("c1").getJsonObject(0)) + "\n\n"
      + "## 2026-12-07T10:00:06Z assistant\n\nIt is 18C.\n\n";
    JsonArray history = Transcript.parse(transcript);
    assertThat(history).hasSize(5);
    assertThat(history.getJsonObject(0)).isEqualTo(m("user", "/tool get_weather {\"city\":\"Paris\"}"));
    assertThat(history.getJsonObject(1)).isEqualTo(step);
    assertThat(history.getJsonObject(2)).isEqualTo(ClientTools.result("t1", "noon"));
    assertThat(history.getJsonObject(3)).isEqualTo(ClientTools.result("c1", "result of c1"));
    assertThat(history.getJsonObject(4)).isEqualTo(m("assistant", "It is 18C."));
  }

  @Test
  void aSessionWaitingForResultsTakesNoNewUserMessage() {
    JsonArray history = new JsonArray().add(m("user", "q")).add(step("c1", "t1", "c2"))
      .add(ClientTools.result("t1", "noon"));
    JsonArray waiting = ClientTools.waiting(history);
    assertThat(waiting).hasSize(2);
    assertThat(waiting.getJsonObject(0).getString("id")).isEqualTo("c1");
    assertThat(waiting.getJsonObject(1).getString("id")).isEqualTo("c2");
    assertThat(ClientTools.stillWaiting(waiting).getMessage()).contains("c1, c2");
    assertThat(ClientTools.question(history, ClientTools.tail(history))).isEqualTo("q");
    // once answered, nothing waits
    history.add(ClientTools.result("c1", "a")).add(ClientTools.result("c2", "b")).add(m("assistant", "done"));
    assertThat(ClientTools.waiting(history)).isEmpty();
    assertThat(ClientTools.waiting(new JsonArray().add(m("user", "q")).add(m("assistant", "a")))).isEmpty();
  }

  @Test
  void theResultsMustAnswerExactlyTheCallsLeftToTheClient() {
    JsonArray history = new JsonArray().add(m("user", "q")).add(step("c1", "t1", "c2"))
      .add(ClientTools.result("t1", "noon"));
    assertThat(ClientTools.continuing(history, results("c1", "c2"), false)).isEqualTo(new ClientTools.Continuing(0, null));
    assertThat(ClientTools.continuing(history, results("c2", "c1"), false).answer()).isNull();
    assertThat(param(() -> ClientTools.continuing(history, results("c1"), false))).isEqualTo("messages");
    assertThat(param(() -> ClientTools.continuing(history, results("c1", "c2", "nope"), false))).isEqualTo("messages");
    assertThatThrownBy(() -> ClientTools.continuing(history, results("c1", "nope"), false))
      .hasMessageContaining("no tool call of this session has the id nope");
    assertThat(param(() -> ClientTools.continuing(history, results("c1", "c1", "c2"), false))).isEqualTo("messages");
    // the agent's own call is not the client's to answer
    assertThat(param(() -> ClientTools.continuing(history, results("c1", "c2", "t1"), false))).isEqualTo("messages");
    // nothing waits: tool messages answer nothing
    assertThat(param(() -> ClientTools.continuing(new JsonArray().add(m("user", "q")).add(m("assistant", "a")),
      results("c1"), false))).isEqualTo("messages");
  }

  @Test
  void aTurnSentAgainFindsWhatItWroteBefore() {
    JsonArray history = new JsonArray().add(m("user", "q")).add(step("c1", "t1", "c2"))
      .add(ClientTools.result("t1", "noon"));
    // its node died after one result was written
    JsonArray partly = history.copy().add(ClientTools.result("c1", "a"));
    assertThat(ClientTools.continuing(partly, results("c1", "c2"), true)).isEqualTo(new ClientTools.Continuing(1, null));
    // ... after its answer was written: that is the reply; a fresh request may not answer them again
    JsonArray answered = history.copy().add(ClientTools.result("c1", "a")).add(ClientTools.result("c2", "b"))
      .add(m("assistant", "both done"));
    assertThat(ClientTools.continuing(answered, results("c1", "c2"), true))
      .isEqualTo(new ClientTools.Continuing(3, "both done"));
    assertThatThrownBy(() -> ClientTools.continuing(answered, results("c1", "c2"), false))
      .hasMessageContaining("answered already");
  }

  @Test
  void aHistoryNeverStartsWithResultsWhoseCallWasTrimmedAway() {
    JsonArray past = new JsonArray().add(ClientTools.result("c1", "a")).add(ClientTools.result("c2", "b"))
      .add(m("assistant", "x")).add(step("c3"));
    assertThat(ClientTools.orphans(past)).isEqualTo(2);
    assertThat(ClientTools.endsWithStep(past)).isTrue();
    assertThat(ClientTools.endsWithStep(past.copy().add(ClientTools.result("t9", "agent's")))).isTrue();
    assertThat(ClientTools.endsWithStep(new JsonArray().add(m("user", "q")))).isFalse();
  }

  @Test
  void aTurnKeepsTheClientsToolsChoiceAndResultsOnTheBus() {
    Turn.Request r = Turn.Request.of("s", "").idempotencyKey("k").tools(new JsonArray().add(tool("get_weather")))
      .toolChoice(ToolChoice.function("get_weather")).toolResults(results("c1")).build();
    Turn.Request back = Turn.Request.fromJson(r.toJson());
    assertThat(back).isEqualTo(r);
    assertThat(back.continuation()).isTrue();
    assertThat(back.clientTools()).isTrue();
    Turn.Request plain = Turn.Request.fromJson(Turn.Request.of("s", "hi").build().toJson());
    assertThat(plain.continuation()).isFalse();
    assertThat(plain.clientTools()).isFalse();
    assertThat(plain.toolChoice()).isNull();
    Turn.Reply reply = new Turn.Reply("a", "s", "i", "n", "", "m", ModelCall.Usage.NONE, 0, false, "tool_calls", null,
      new JsonArray().add(ClientTools.call("c1", "get_weather", new JsonObject().put("city", "Paris"))));
    assertThat(Turn.Reply.fromJson(reply.toJson())).isEqualTo(reply);
    assertThat(new Turn.Reply("a", "s", "i", "n", "hi", "m", ModelCall.Usage.NONE, 0, false, "stop").toJson()
      .containsKey("tool_calls")).isFalse();
  }
}
