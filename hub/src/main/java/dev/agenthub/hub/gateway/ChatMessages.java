package dev.agenthub.hub.gateway;

import dev.agenthub.protocol.Failure;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.LinkedHashSet;
import java.util.Set;

/**
 * A chat completion's {@code messages}, read into the chat shape the agent takes and checked as
 * OpenAI checks them: roles system (and developer, as system), user, assistant (with text, tool
 * calls, or both) and tool (a result, {@code tool_call_id} and text); text content or text parts
 * only. The new turn is the last user message, or the tool messages at the end: the client's results
 * for the tool calls its last answer asked for.
 */
final class ChatMessages {

  private static final Set<String> ROLES = Set.of("system", "developer", "user", "assistant", "tool");

  private ChatMessages() {
  }

  /**
   * The messages as {@code [{role, content}]}, plus {@code tool_calls} on an assistant message that
   * has them (its content null when it has no text) and {@code tool_call_id} on a tool message.
   */
  static JsonArray read(Object value) {
    if (!(value instanceof JsonArray array) || array.isEmpty()) {
      throw Failure.badParam("messages", "'messages' must be a non-empty array");
    }
    JsonArray out = new JsonArray();
    for (int i = 0; i < array.size(); i++) {
      String at = "messages[" + i + "]";
      if (!(array.getValue(i) instanceof JsonObject message)) {
        throw Failure.badParam(at, "'" + at + "' must be an object");
      }
      Object role = message.getValue("role");
      if (!(role instanceof String r) || !ROLES.contains(r)) {
        throw Failure.badParam(at + ".role", "'" + at + ".role' must be system, developer, user, assistant or tool");
      }
      if (message.getValue("function_call") != null) {
        throw Failure.unsupported(at + ".function_call", "function_call is deprecated: use tool_calls");
      }
      Object content = message.getValue("content");
      JsonArray calls = r.equals("assistant") ? toolCalls(message.getValue("tool_calls"), at) : null;
      String text = content == null && r.equals("assistant") ? (calls == null ? "" : null) : contentText(content, at);
      Requests.refuseNul(text, at + ".content");
      JsonObject m = new JsonObject().put("role", r.equals("developer") ? "system" : r).put("content", text);
      if (calls != null) {
        m.put("tool_calls", calls);
      }
      if (r.equals("tool")) {
        Object id = message.getValue("tool_call_id");
        if (id == null) {
          throw ChatTools.missing(at + ".tool_call_id");
        }
        if (!(id instanceof String s)) {
          throw Requests.invalidType(at + ".tool_call_id", "a string", id);
        }
        m.put("tool_call_id", s);
      }
      out.add(m);
    }
    return out;
  }

  /** An assistant message's tool calls in OpenAI's shape, or null for none. */
  private static JsonArray toolCalls(Object value, String at) {
    if (value == null) {
      return null;
    }
    if (!(value instanceof JsonArray array)) {
      throw Requests.invalidType(at + ".tool_calls", "an array", value);
    }
    if (array.isEmpty()) {
      return null;
    }
    JsonArray out = new JsonArray();
    for (int j = 0; j < array.size(); j++) {
      String c = at + ".tool_calls[" + j + "]";
      if (!(array.getValue(j) instanceof JsonObject call)) {
        throw Requests.invalidType(c, "an object", array.getValue(j));
      }
      if (!(call.getValue("id") instanceof String id)) {
        throw call.getValue("id") == null ? ChatTools.missing(c + ".id") : Requests.invalidType(c + ".id", "a string",
          call.getValue("id"));
      }
      if (!"function".equals(call.getValue("type"))) {
        throw call.getValue("type") == null ? ChatTools.missing(c + ".type")
          : Failure.invalid(c + ".type", "invalid_value", "Invalid value: '" + call.getValue("type")
          + "'. Supported values are: 'function'.");
      }
      if (!(call.getValue("function") instanceof JsonObject fn)) {
        throw ChatTools.missing(c + ".function");
      }
      if (!(fn.getValue("name") instanceof String name)) {
        throw ChatTools.missing(c + ".function.name");
      }
      if (!(fn.getValue("arguments") instanceof String arguments)) {
        throw ChatTools.missing(c + ".function.arguments");
      }
      Requests.refuseNul(arguments, c + ".function.arguments");
      out.add(new JsonObject().put("id", id).put("type", "function").put("function",
        new JsonObject().put("name", name).put("arguments", arguments)));
    }
    return out;
  }

  /** Where the tool messages at the end of the conversation begin ({@code messages.size()} when it ends otherwise). */
  static int results(JsonArray messages) {
    int i = messages.size();
    while (i > 0 && "tool".equals(messages.getJsonObject(i - 1).getString("role"))) {
      i--;
    }
    return i;
  }

  /** The tool messages from {@code from} on, as the turn's results: {@code [{tool_call_id, content}]}. */
  static JsonArray results(JsonArray messages, int from) {
    JsonArray out = new JsonArray();
    for (int i = from; i < messages.size(); i++) {
      JsonObject m = messages.getJsonObject(i);
      out.add(new JsonObject().put("tool_call_id", m.getString("tool_call_id")).put("content", m.getString("content")));
    }
    return out;
  }

  /**
   * OpenAI's rule for a conversation the client holds (a stateless request): each tool message answers
   * a call of the assistant message before it, once, and every call is answered before the next message
   * of another role.
   */
  static void checkToolOrder(JsonArray messages) {
    Set<String> open = new LinkedHashSet<>();
    Set<String> calls = new LinkedHashSet<>();
    for (int i = 0; i < messages.size(); i++) {
      JsonObject m = messages.getJsonObject(i);
      String role = m.getString("role");
      if (!role.equals("tool") && !open.isEmpty()) {
        throw unanswered(open, "messages[" + i + "].role");
      }
      if (role.equals("tool")) {
        String id = m.getString("tool_call_id");
        if (!open.remove(id)) {
          throw Failure.badParam("messages[" + i + "].tool_call_id", calls.contains(id)
            ? "tool call '" + id + "' has more than one result"
            : "Invalid parameter: messages with role 'tool' must be a response to a preceding message with "
              + "'tool_calls' (no call has the id '" + id + "').");
        }
      } else if (role.equals("assistant") && m.getJsonArray("tool_calls") != null) {
        calls.clear();
        for (int j = 0; j < m.getJsonArray("tool_calls").size(); j++) {
          String id = m.getJsonArray("tool_calls").getJsonObject(j).getString("id");
          open.add(id);
          calls.add(id);
        }
      }
    }
    if (!open.isEmpty()) {
      throw unanswered(open, "messages");
    }
  }

  private static Failure unanswered(Set<String> open, String param) {
    return Failure.badParam(param, "An assistant message with 'tool_calls' must be followed by tool messages "
      + "responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: "
      + String.join(", ", open));
  }

  /** The last user message's text: a session's new turn. */
  static String lastUserText(JsonArray messages) {
    for (int i = messages.size() - 1; i >= 0; i--) {
      JsonObject message = messages.getJsonObject(i);
      if ("user".equals(message.getString("role"))) {
        return message.getString("content");
      }
    }
    throw Failure.badParam("messages", "'messages' must contain a message with role 'user'");
  }

  /** Content is a string or an array of parts, of which only text parts are taken. */
  private static String contentText(Object content, String at) {
    if (content instanceof String s) {
      return s;
    }
    if (content instanceof JsonArray parts) {
      StringBuilder sb = new StringBuilder();
      for (int j = 0; j < parts.size(); j++) {
        if (!(parts.getValue(j) instanceof JsonObject part) || !"text".equals(part.getValue("type"))
          || !(part.getValue("text") instanceof String t)) {
          throw Failure.unsupported(at + ".content[" + j + "]", "only text content parts are supported");
        }
        sb.append(sb.isEmpty() ? "" : "\n").append(t);
      }
      return sb.toString();
    }
    throw Failure.badParam(at + ".content", "'" + at + ".content' must be a string or an array of parts");
  }
}
