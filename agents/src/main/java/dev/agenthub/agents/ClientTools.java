package dev.agenthub.agents;

import dev.agenthub.protocol.Failure;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The client's own tools (a chat completion's {@code tools}): offered to the model before the
 * agent's own, never run by the hub. A model step that calls one ends the turn with the client's
 * calls (the agent's own calls of that step run first); the client's next request brings the results
 * and the turn goes on from them.
 *
 * <p>In a session the transcript keeps both halves, so the step survives a restart or a move to
 * another instance: a {@value #STEP_ENTRY} entry holds the assistant message with its tool calls and
 * the results of the agent's own calls of that step; each result the client sends is a
 * {@value #RESULT_ENTRY} entry. Both are one line of JSON, read back into the history as chat
 * messages. Until every call the step left to the client has a result, the session takes no new
 * user message. Plain code: no Vert.x, called on the agent's context.
 */
final class ClientTools {

  /** The transcript entry of a step that called the client's tools: {@code {content, tool_calls, results}}. */
  static final String STEP_ENTRY = "tool_calls";
  /** The transcript entry of one result the client sent: {@code {tool_call_id, content}}. */
  static final String RESULT_ENTRY = "tool_result";

  private ClientTools() {
  }

  /** A tool's name on a provider's wire, where dots are not allowed. */
  static String wire(String name) {
    return name.replace(".", "__");
  }

  /**
   * The tools the model is offered: the client's first, then the agent's own. A client tool whose name
   * is an agent tool's wire name would make the model's calls ambiguous: refused with 400 naming it.
   */
  static JsonArray offered(JsonArray client, JsonArray agent) {
    if (client == null || client.isEmpty()) {
      return agent;
    }
    Set<String> taken = new HashSet<>();
    for (int i = 0; i < agent.size(); i++) {
      taken.add(wire(name(agent.getJsonObject(i))));
    }
    JsonArray out = new JsonArray();
    for (int i = 0; i < client.size(); i++) {
      String name = name(client.getJsonObject(i));
      if (taken.contains(name)) {
        throw Failure.badParam("tools[" + i + "].function.name", "tool name '" + name
          + "' is taken by one of the agent's own tools: give the client's tool another name");
      }
      out.add(client.getJsonObject(i));
    }
    agent.forEach(out::add);
    return out;
  }

  /** The names of the client's tools (none for null). */
  static Set<String> names(JsonArray client) {
    Set<String> names = new HashSet<>();
    if (client != null) {
      for (int i = 0; i < client.size(); i++) {
        names.add(name(client.getJsonObject(i)));
      }
    }
    return names;
  }

  /**
   * The client tool a model's call names, or null for one of the agent's. Provider clients give
   * {@code __} back as dots (the agent's wire names); a client's name never has a dot, so its wire
   * form is the name.
   */
  static String clientTool(Set<String> clientNames, String called) {
    String wire = called == null ? null : wire(called);
    return wire != null && clientNames.contains(wire) ? wire : null;
  }

  /** One call in OpenAI's shape: {@code {id, type: function, function: {name, arguments}}}, arguments a JSON string. */
  static JsonObject call(String id, String name, JsonObject arguments) {
    return new JsonObject().put("id", id).put("type", "function").put("function",
      new JsonObject().put("name", name).put("arguments", arguments.encode()));
  }

  /** The client's results as tool messages. */
  static JsonArray messages(JsonArray results) {
    JsonArray out = new JsonArray();
    for (int i = 0; i < results.size(); i++) {
      JsonObject r = results.getJsonObject(i);
      out.add(result(r.getString("tool_call_id"), r.getString("content", "")));
    }
    return out;
  }

  static JsonObject result(String id, String content) {
    return new JsonObject().put("role", "tool").put("tool_call_id", id).put("content", content);
  }

  /** The body of a {@value #STEP_ENTRY} entry: the assistant's message and its own tools' results. */
  static String stepEntry(JsonObject assistant, List<JsonObject> agentResults) {
    JsonArray results = new JsonArray();
    agentResults.forEach(r -> results.add(new JsonObject().put("tool_call_id", r.getString("tool_call_id"))
      .put("content", r.getString("content"))));
    return new JsonObject().put("content", assistant.getString("content"))
      .put("tool_calls", assistant.getJsonArray("tool_calls")).put("results", results).encode();
  }

  /** The body of a {@value #RESULT_ENTRY} entry. */
  static String resultEntry(JsonObject result) {
    return new JsonObject().put("tool_call_id", result.getString("tool_call_id"))
      .put("content", result.getString("content", "")).encode();
  }

  /**
   * Reads an entry of either kind back as chat messages onto {@code out}; an entry that is not the
   * JSON the hub wrote (edited by hand) is left out, as tool steps are.
   */
  static void read(String role, String body, JsonArray out) {
    JsonObject json;
    try {
      json = new JsonObject(body);
    } catch (RuntimeException e) {
      return;
    }
    if (role.equals(RESULT_ENTRY)) {
      out.add(result(json.getString("tool_call_id"), json.getString("content", "")));
      return;
    }
    JsonObject assistant = new JsonObject().put("role", "assistant").put("content", json.getString("content"))
      .put("tool_calls", json.getJsonArray("tool_calls", new JsonArray()));
    out.add(assistant);
    JsonArray results = json.getJsonArray("results", new JsonArray());
    for (int i = 0; i < results.size(); i++) {
      out.add(result(results.getJsonObject(i).getString("tool_call_id"), results.getJsonObject(i).getString("content")));
    }
  }

  /**
   * The end of a history: the last step with tool calls, the tool results after it, and an answer
   * after those; null when the history does not end that way.
   */
  record Tail(JsonObject step, int stepIndex, List<JsonObject> results, String answer) {

    /** The ids of the step's calls, in order. */
    Set<String> calls() {
      Set<String> ids = new LinkedHashSet<>();
      JsonArray calls = step.getJsonArray("tool_calls");
      for (int i = 0; i < calls.size(); i++) {
        ids.add(calls.getJsonObject(i).getString("id"));
      }
      return ids;
    }

    Set<String> answered() {
      Set<String> ids = new LinkedHashSet<>();
      results.forEach(r -> ids.add(r.getString("tool_call_id")));
      return ids;
    }

    /** The calls still waiting for a result. */
    Set<String> waiting() {
      Set<String> ids = calls();
      ids.removeAll(answered());
      return ids;
    }
  }

  static Tail tail(JsonArray history) {
    int i = history.size() - 1;
    String answer = null;
    if (i >= 0 && isAnswer(history.getJsonObject(i))) {
      answer = history.getJsonObject(i).getString("content", "");
      i--;
    }
    int resultsEnd = i;
    while (i >= 0 && "tool".equals(history.getJsonObject(i).getString("role"))) {
      i--;
    }
    if (i < 0 || !isStep(history.getJsonObject(i))) {
      return null;
    }
    List<JsonObject> results = new ArrayList<>();
    for (int j = i + 1; j <= resultsEnd; j++) {
      results.add(history.getJsonObject(j));
    }
    return new Tail(history.getJsonObject(i), i, results, answer);
  }

  /**
   * For a turn of a user message: the client's calls the session still waits for, as the step listed
   * them (OpenAI's shape); empty when it waits for none.
   */
  static JsonArray waiting(JsonArray history) {
    Tail tail = tail(history);
    JsonArray out = new JsonArray();
    if (tail == null || tail.answer() != null) {
      return out;
    }
    Set<String> waiting = tail.waiting();
    JsonArray calls = tail.step().getJsonArray("tool_calls");
    for (int i = 0; i < calls.size(); i++) {
      if (waiting.contains(calls.getJsonObject(i).getString("id"))) {
        out.add(calls.getJsonObject(i));
      }
    }
    return out;
  }

  /** The user message a step answered, or null. */
  static String question(JsonArray history, Tail tail) {
    JsonObject before = tail.stepIndex() > 0 ? history.getJsonObject(tail.stepIndex() - 1) : null;
    return before != null && "user".equals(before.getString("role")) ? before.getString("content") : null;
  }

  /** A 400 for a user message while the session waits for tool results. */
  static Failure stillWaiting(JsonArray calls) {
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < calls.size(); i++) {
      ids.add(calls.getJsonObject(i).getString("id"));
    }
    return Failure.badParam("messages", "this session waits for the results of its tool calls " + String.join(", ", ids)
      + ": send them as messages with role 'tool' (tool_call_id, content) before a new user message");
  }

  /**
   * What a turn of tool results finds at the end of its session's history.
   *
   * @param written the messages at the end of the history this turn had already written (a turn sent
   *                again after its node died): its results, and its answer
   * @param answer  the answer written already, or null to run the turn
   */
  record Continuing(int written, String answer) {
  }

  /**
   * Checks the client's results against the step the session waits on: they must answer exactly the
   * calls still waiting, each once; else 400 naming {@code messages}. A turn that may be a repeat
   * ({@code repeat}: sent again, or under the client's idempotency key) may find its own results, and
   * its answer, written already at the end of the history.
   */
  static Continuing continuing(JsonArray history, JsonArray results, boolean repeat) {
    Tail tail = tail(history);
    if (tail == null) {
      throw Failure.badParam("messages", "no tool calls in this session wait for results: tool messages must answer "
        + "the tool calls of the last assistant message");
    }
    Set<String> sent = new LinkedHashSet<>();
    for (int i = 0; i < results.size(); i++) {
      String id = results.getJsonObject(i).getString("tool_call_id");
      if (!sent.add(id)) {
        throw Failure.badParam("messages", "tool call '" + id + "' has more than one result");
      }
    }
    Set<String> waiting = tail.waiting();
    // a repeat's own results are the last ones written
    Set<String> written = new LinkedHashSet<>();
    for (int i = tail.results().size() - 1; repeat && i >= 0; i--) {
      String id = tail.results().get(i).getString("tool_call_id");
      if (!sent.contains(id)) {
        break;
      }
      written.add(id);
    }
    Set<String> expected = new LinkedHashSet<>(waiting);
    expected.addAll(written);
    if (!expected.equals(sent) || waiting.isEmpty() && written.isEmpty()) {
      Set<String> unknown = new LinkedHashSet<>(sent);
      unknown.removeAll(tail.calls());
      if (unknown.isEmpty() && waiting.isEmpty()) {
        throw Failure.badParam("messages", "the tool calls " + String.join(", ", sent) + " were answered already");
      }
      throw Failure.badParam("messages", (unknown.isEmpty() ? "" : "no tool call of this session has the id "
        + String.join(", ", unknown) + ": ") + "the tool results must answer exactly the calls "
        + String.join(", ", waiting));
    }
    if (tail.answer() == null) {
      return new Continuing(written.size(), null);
    }
    if (!waiting.isEmpty()) {
      throw Failure.badParam("messages", "the tool calls " + String.join(", ", sent) + " were answered already");
    }
    return new Continuing(written.size() + 1, tail.answer());
  }

  /** The history without tool results at its start (their call was trimmed away: providers refuse them). */
  static int orphans(JsonArray past) {
    int n = 0;
    while (n < past.size() && "tool".equals(past.getJsonObject(n).getString("role"))) {
      n++;
    }
    return n;
  }

  /** Whether the history ends with a step with tool calls and, maybe, results of some of them. */
  static boolean endsWithStep(JsonArray past) {
    int i = past.size() - 1;
    while (i >= 0 && "tool".equals(past.getJsonObject(i).getString("role"))) {
      i--;
    }
    return i >= 0 && isStep(past.getJsonObject(i));
  }

  private static boolean isStep(JsonObject message) {
    return "assistant".equals(message.getString("role")) && message.getValue("tool_calls") instanceof JsonArray a
      && !a.isEmpty();
  }

  private static boolean isAnswer(JsonObject message) {
    return "assistant".equals(message.getString("role")) && !isStep(message);
  }

  private static String name(JsonObject tool) {
    return tool.getJsonObject("function", new JsonObject()).getString("name", "");
  }
}
