package dev.agenthub.hub.gateway;

import dev.agenthub.agents.Priority;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.Json;
import io.vertx.core.json.JsonObject;

import java.util.regex.Pattern;

/** Input checks shared by the HTTP endpoints; each failure is an {@link ApiError} with a clear message. */
final class Requests {

  private static final Pattern SESSION = Pattern.compile("[A-Za-z0-9_.:@-]{1,128}");
  static final int MAX_IDEMPOTENCY_KEY = 256;

  private Requests() {
  }

  static JsonObject jsonBody(Buffer body) {
    if (body == null || body.length() == 0) {
      throw ApiError.badRequest("request body must be a JSON object");
    }
    Object value;
    try {
      value = Json.decodeValue(body);
    } catch (DecodeException e) {
      throw ApiError.badRequest("request body is not valid JSON");
    }
    if (!(value instanceof JsonObject json)) {
      throw ApiError.badRequest("request body must be a JSON object");
    }
    return json;
  }

  static String requiredString(JsonObject json, String field) {
    Object v = json.getValue(field);
    if (v == null) {
      throw ApiError.badParam(field, "'" + field + "' is required");
    }
    if (!(v instanceof String s)) {
      throw ApiError.badParam(field, "'" + field + "' must be a string");
    }
    return s;
  }

  static String optionalString(JsonObject json, String field) {
    Object v = json.getValue(field);
    if (v != null && !(v instanceof String)) {
      throw ApiError.badParam(field, "'" + field + "' must be a string");
    }
    return (String) v;
  }

  /** An optional boolean field: absent is false. */
  static boolean optionalBoolean(JsonObject json, String field) {
    Object v = json.getValue(field);
    if (v != null && !(v instanceof Boolean)) {
      throw ApiError.badParam(field, "'" + field + "' must be true or false");
    }
    return Boolean.TRUE.equals(v);
  }

  static String session(String session, String field) {
    if (!SESSION.matcher(session).matches() || session.startsWith(".")) {
      throw ApiError.badRequest("'" + field + "' must be 1-128 of A-Z a-z 0-9 _ . : @ - and not start with '.'");
    }
    return session;
  }

  /**
   * A message to an agent as both doors take it (HTTP {@code POST /v1/agents/{agent}/messages} and the
   * event bus {@code agenthub.agents.<agent>}): validated, or a 400 naming the field.
   */
  record AgentMessage(String session, String text, String idempotencyKey, Priority priority, String callback,
                      boolean stream) {

    static AgentMessage parse(JsonObject json) {
      String session = Requests.session(requiredString(json, "session"), "session");
      String text = requiredString(json, "text");
      if (text.isBlank()) {
        throw ApiError.badParam("text", "'text' must not be empty");
      }
      String idempotencyKey = optionalString(json, "idempotency_key");
      if (idempotencyKey != null && (idempotencyKey.isEmpty() || idempotencyKey.length() > MAX_IDEMPOTENCY_KEY)) {
        throw ApiError.badParam("idempotency_key", "'idempotency_key' must be 1-" + MAX_IDEMPOTENCY_KEY + " characters");
      }
      String priority = optionalString(json, "priority");
      if (priority != null && !priority.equals("interactive") && !priority.equals("batch")) {
        throw ApiError.badParam("priority", "'priority' must be 'interactive' or 'batch'");
      }
      return new AgentMessage(session, text, idempotencyKey, priority == null ? Priority.INTERACTIVE : Priority.of(priority),
        optionalString(json, "callback_url"), optionalBoolean(json, "stream"));
    }

    boolean batch() {
      return priority == Priority.BATCH;
    }
  }
}
