package dev.agenthub.mcp.door;

import dev.agenthub.protocol.Hashes;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.regex.Pattern;

/**
 * The tools of the door, one per agent, {@code ask_<agent>}: their definition, their arguments
 * ({@code text}, and optionally the agent's {@code session}) and a call's idempotency key.
 */
final class AgentTools {

  static final String PREFIX = "ask_";
  /** A call's own idempotency key, in its {@code _meta}; without it, the MCP session and the request id are the key. */
  static final String KEY_META = "dev.agenthub/idempotency-key";
  static final int MAX_KEY = 256;

  /** A session id as the hub takes it ("Contract: HTTP API"). */
  private static final String SESSION = "^[A-Za-z0-9_:@-][A-Za-z0-9_.:@-]{0,127}$";
  private static final Pattern SESSION_PATTERN = Pattern.compile(SESSION);

  /** The tools' {@code inputSchema} (JSON Schema); a copy goes out with each tool. */
  static final JsonObject SCHEMA = new JsonObject().put("type", "object")
    .put("properties", new JsonObject()
      .put("text", new JsonObject().put("type", "string").put("minLength", 1)
        .put("description", "What to say to the agent"))
      .put("session", new JsonObject().put("type", "string").put("pattern", SESSION)
        .put("description", "The agent's session to continue (1-128 of A-Z a-z 0-9 _ . : @ -, not starting with "
          + "'.'); without it, the MCP session's own conversation")))
    .put("required", new JsonArray().add("text")).put("additionalProperties", false);

  private AgentTools() {
  }

  /** What is wrong with a call's arguments, or null when nothing is. */
  static String problem(JsonObject args) {
    for (String field : args.fieldNames()) {
      if (!field.equals("text") && !field.equals("session")) {
        return "unknown argument '" + field + "' (the tool takes 'text' and 'session')";
      }
    }
    Object text = args.getValue("text");
    if (!(text instanceof String t)) {
      return text == null ? "'text' is required" : "'text' must be a string";
    }
    if (t.isBlank()) {
      return "'text' must not be empty";
    }
    Object session = args.getValue("session");
    if (session != null && !(session instanceof String s && SESSION_PATTERN.matcher(s).matches())) {
      return "'session' must be 1-128 of A-Z a-z 0-9 _ . : @ - and not start with '.'";
    }
    return null;
  }

  /** The tool of one agent. */
  static JsonObject tool(McpDoor.Agent agent) {
    String description = agent.description() != null ? agent.description() + " (Asks the agenthub agent '"
      + agent.id() + "'; the result is its reply.)"
      : "Asks the agenthub agent '" + agent.id() + "' and returns its reply.";
    return new JsonObject().put("name", PREFIX + agent.id()).put("title", "Ask " + agent.id())
      .put("description", description).put("inputSchema", SCHEMA.copy());
  }

  /**
   * The call's idempotency key: the client's own ({@link #KEY_META}), else one made of the MCP session
   * and the request id (a retry of the same request in the same session gets the first answer); null
   * for a bad own key.
   */
  static String idempotencyKey(JsonObject meta, DoorSessions.Session session, Object id) {
    Object own = meta.getValue(KEY_META);
    if (own != null) {
      return own instanceof String k && !k.isEmpty() && k.length() <= MAX_KEY ? k : null;
    }
    return "mcp-" + Hashes.sha256Hex(session.id + "\n" + JsonRpc.key(id)).substring(0, 32);
  }
}
