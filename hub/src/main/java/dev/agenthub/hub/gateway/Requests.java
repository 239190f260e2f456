package dev.agenthub.hub.gateway;

import dev.agenthub.protocol.Failure;
import dev.agenthub.protocol.Priority;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.Json;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.regex.Pattern;

/** Input checks shared by the HTTP endpoints; each failure is a {@link Failure} with a clear message. */
final class Requests {

  private static final Pattern SESSION = Pattern.compile("[A-Za-z0-9_.:@-]{1,128}");
  static final int MAX_IDEMPOTENCY_KEY = 256;

  private Requests() {
  }

  static JsonObject jsonBody(Buffer body) {
    if (body == null || body.length() == 0) {
      throw Failure.of(Failure.Kind.BAD_REQUEST, "request body must be a JSON object");
    }
    Object value;
    try {
      value = Json.decodeValue(body);
    } catch (DecodeException e) {
      throw Failure.of(Failure.Kind.BAD_REQUEST, "request body is not valid JSON");
    }
    if (!(value instanceof JsonObject json)) {
      throw Failure.of(Failure.Kind.BAD_REQUEST, "request body must be a JSON object");
    }
    return json;
  }

  static String requiredString(JsonObject json, String field) {
    Object v = json.getValue(field);
    if (v == null) {
      throw Failure.badParam(field, "'" + field + "' is required");
    }
    if (!(v instanceof String s)) {
      throw Failure.badParam(field, "'" + field + "' must be a string");
    }
    return s;
  }

  static String optionalString(JsonObject json, String field) {
    Object v = json.getValue(field);
    if (v != null && !(v instanceof String)) {
      throw Failure.badParam(field, "'" + field + "' must be a string");
    }
    return (String) v;
  }

  /** An optional boolean field: absent is false. */
  static boolean optionalBoolean(JsonObject json, String field) {
    Object v = json.getValue(field);
    if (v != null && !(v instanceof Boolean)) {
      throw Failure.badParam(field, "'" + field + "' must be true or false");
    }
    return Boolean.TRUE.equals(v);
  }

  /**
   * An optional number within {@code [min, max]}, as OpenAI checks it: a wrong type or a value out of
   * range is a 400 naming the field ({@code code} {@code invalid_type}, {@code decimal_below_min_value},
   * {@code decimal_above_max_value}).
   */
  static void optionalDecimal(JsonObject json, String field, double min, double max) {
    Object v = json.getValue(field);
    if (v == null) {
      return;
    }
    if (!(v instanceof Number n)) {
      throw invalidType(field, "a decimal", v);
    }
    double d = n.doubleValue();
    if (d < min) {
      throw Failure.invalid(field, "decimal_below_min_value", "Invalid '" + field + "': decimal below minimum value. "
        + "Expected a value >= " + plain(min) + ", but got " + n + " instead.");
    }
    if (d > max) {
      throw Failure.invalid(field, "decimal_above_max_value", "Invalid '" + field + "': decimal above maximum value. "
        + "Expected a value <= " + plain(max) + ", but got " + n + " instead.");
    }
  }

  /** An optional integer within {@code [min, max]}: a 400 naming the field otherwise; absent is null. */
  static Long optionalInteger(JsonObject json, String field, long min, long max) {
    Object v = json.getValue(field);
    if (v == null) {
      return null;
    }
    if (!(v instanceof Integer || v instanceof Long || v instanceof Short || v instanceof Byte)) {
      throw invalidType(field, "an integer", v);
    }
    long l = ((Number) v).longValue();
    if (l < min) {
      throw Failure.invalid(field, "integer_below_min_value", "Invalid '" + field + "': integer below minimum value. "
        + "Expected a value >= " + min + ", but got " + l + " instead.");
    }
    if (l > max) {
      throw Failure.invalid(field, "integer_above_max_value", "Invalid '" + field + "': integer above maximum value. "
        + "Expected a value <= " + max + ", but got " + l + " instead.");
    }
    return l;
  }

  static Failure invalidType(String field, String expected, Object got) {
    String kind = got instanceof String ? "a string" : got instanceof Boolean ? "a boolean"
      : got instanceof Number ? "a decimal" : got instanceof JsonObject ? "an object"
      : got instanceof JsonArray ? "an array" : "another type";
    return Failure.invalid(field, "invalid_type", "Invalid type for '" + field + "': expected " + expected
      + ", but got " + kind + " instead.");
  }

  private static String plain(double d) {
    return d == Math.rint(d) ? String.valueOf((long) d) : String.valueOf(d);
  }

  /** Text that ends up in memory (a transcript, a file) holds no NUL (U+0000): a 400 naming the field. */
  static void refuseNul(String text, String field) {
    if (text != null && text.indexOf('\0') >= 0) {
      throw Failure.badParam(field, "'" + field + "' contains a NUL character (U+0000), which memory files may not "
        + "hold");
    }
  }

  static String session(String session, String field) {
    if (!SESSION.matcher(session).matches() || session.startsWith(".")) {
      throw Failure.of(Failure.Kind.BAD_REQUEST, "'" + field + "' must be 1-128 of A-Z a-z 0-9 _ . : @ - and not start with '.'");
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
        throw Failure.badParam("text", "'text' must not be empty");
      }
      refuseNul(text, "text");
      String idempotencyKey = optionalString(json, "idempotency_key");
      if (idempotencyKey != null && (idempotencyKey.isEmpty() || idempotencyKey.length() > MAX_IDEMPOTENCY_KEY)) {
        throw Failure.badParam("idempotency_key", "'idempotency_key' must be 1-" + MAX_IDEMPOTENCY_KEY + " characters");
      }
      String priority = optionalString(json, "priority");
      if (priority != null && !priority.equals("interactive") && !priority.equals("batch")) {
        throw Failure.badParam("priority", "'priority' must be 'interactive' or 'batch'");
      }
      return new AgentMessage(session, text, idempotencyKey, priority == null ? Priority.INTERACTIVE : Priority.of(priority),
        optionalString(json, "callback_url"), optionalBoolean(json, "stream"));
    }

    boolean batch() {
      return priority == Priority.BATCH;
    }
  }
}
