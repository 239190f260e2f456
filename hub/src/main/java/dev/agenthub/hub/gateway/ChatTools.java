package dev.agenthub.hub.gateway;

import dev.agenthub.protocol.Failure;
import dev.agenthub.protocol.ToolChoice;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.HashSet;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A chat completion's own tools ({@code tools}, {@code tool_choice}), checked as OpenAI checks them:
 * function tools only, a name of {@code [a-zA-Z0-9_-]{1,64}}, {@code parameters} an object; anything
 * else is a 400 naming the parameter with OpenAI's code. Whether a name clashes with one of the
 * agent's own tools only the agent knows: it refuses those.
 */
final class ChatTools {

  private static final Pattern NAME = Pattern.compile("[a-zA-Z0-9_-]+");
  private static final int MAX_NAME = 64;
  private static final int MAX_TOOLS = 128;
  private static final Set<String> TOOL_FIELDS = Set.of("type", "function");
  private static final Set<String> FUNCTION_FIELDS = Set.of("name", "description", "parameters", "strict");

  private ChatTools() {
  }

  /** The client's tools as the agent gets them ({@code [{type: function, function}]}); null for none. */
  static JsonArray tools(Object value) {
    if (value == null) {
      return null;
    }
    if (!(value instanceof JsonArray array)) {
      throw Requests.invalidType("tools", "an array", value);
    }
    if (array.isEmpty()) {
      return null; // taken as no tools, as the hub always did
    }
    if (array.size() > MAX_TOOLS) {
      throw Failure.invalid("tools", "array_above_max_length", "Invalid 'tools': array too long. Expected an array "
        + "with maximum length " + MAX_TOOLS + ", but got an array with length " + array.size() + " instead.");
    }
    JsonArray out = new JsonArray();
    Set<String> names = new HashSet<>();
    for (int i = 0; i < array.size(); i++) {
      String at = "tools[" + i + "]";
      if (!(array.getValue(i) instanceof JsonObject tool)) {
        throw Requests.invalidType(at, "an object", array.getValue(i));
      }
      unknownFields(tool, TOOL_FIELDS, at);
      Object type = tool.getValue("type");
      if (type == null) {
        throw missing(at + ".type");
      }
      if ("custom".equals(type)) {
        throw Failure.unsupported(at + ".type", "only tools of type 'function' are supported");
      }
      if (!"function".equals(type)) {
        throw Failure.invalid(at + ".type", "invalid_value", "Invalid value: '" + type + "'. Supported values are: "
          + "'function' and 'custom'.");
      }
      if (tool.getValue("function") == null) {
        throw missing(at + ".function");
      }
      if (!(tool.getValue("function") instanceof JsonObject function)) {
        throw Requests.invalidType(at + ".function", "an object", tool.getValue("function"));
      }
      out.add(new JsonObject().put("type", "function").put("function", function(function, at + ".function", names)));
    }
    return out;
  }

  private static JsonObject function(JsonObject function, String at, Set<String> names) {
    unknownFields(function, FUNCTION_FIELDS, at);
    Object name = function.getValue("name");
    if (name == null) {
      throw missing(at + ".name");
    }
    if (!(name instanceof String n)) {
      throw Requests.invalidType(at + ".name", "a string", name);
    }
    if (n.length() > MAX_NAME) {
      throw Failure.invalid(at + ".name", "string_above_max_length", "Invalid '" + at + ".name': string too long. "
        + "Expected a string with maximum length " + MAX_NAME + ", but got a string with length " + n.length()
        + " instead.");
    }
    if (!NAME.matcher(n).matches()) {
      throw Failure.invalid(at + ".name", "invalid_value", "Invalid '" + at + ".name': string does not match pattern. "
        + "Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'.");
    }
    if (!names.add(n)) {
      throw Failure.invalid(at + ".name", "invalid_value", "Invalid '" + at + ".name': the tool name '" + n
        + "' is given twice.");
    }
    JsonObject out = new JsonObject().put("name", n);
    Object description = function.getValue("description");
    if (description != null && !(description instanceof String)) {
      throw Requests.invalidType(at + ".description", "a string", description);
    }
    Object parameters = function.getValue("parameters");
    if (parameters != null && !(parameters instanceof JsonObject)) {
      throw Requests.invalidType(at + ".parameters", "an object", parameters);
    }
    Object strict = function.getValue("strict");
    if (strict != null && !(strict instanceof Boolean)) {
      throw Requests.invalidType(at + ".strict", "a boolean", strict);
    }
    if (description != null) {
      out.put("description", description);
    }
    // a function without parameters takes none, as OpenAI reads it
    out.put("parameters", parameters != null ? parameters
      : new JsonObject().put("type", "object").put("properties", new JsonObject()));
    if (strict != null) {
      out.put("strict", strict);
    }
    return out;
  }

  /**
   * {@code tool_choice}, which must name one of the client's tools when it names one; {@code required}
   * or a named function without tools is a 400, as at OpenAI. {@code none} and {@code auto} are taken
   * without tools too: {@code none} then keeps the agent from calling its own.
   */
  static ToolChoice choice(Object value, JsonArray tools) {
    ToolChoice choice = ToolChoice.fromJson(value);
    if (choice == null) {
      return null;
    }
    if (tools == null && (choice.mode() == ToolChoice.Mode.REQUIRED || choice.mode() == ToolChoice.Mode.FUNCTION)) {
      throw Failure.invalid("tool_choice", "invalid_value", "Invalid value for 'tool_choice': 'tool_choice' is only "
        + "allowed when 'tools' are specified.");
    }
    if (choice.mode() == ToolChoice.Mode.FUNCTION) {
      boolean named = false;
      for (int i = 0; i < tools.size(); i++) {
        named |= choice.function().equals(tools.getJsonObject(i).getJsonObject("function").getString("name"));
      }
      if (!named) {
        throw Failure.invalid("tool_choice", "invalid_value", "Invalid value for 'tool_choice': function '"
          + choice.function() + "' is not one of the functions in 'tools'.");
      }
    }
    return choice;
  }

  private static void unknownFields(JsonObject o, Set<String> known, String at) {
    for (String field : o.fieldNames()) {
      if (!known.contains(field)) {
        throw Failure.invalid(at + "." + field, "unknown_parameter", "Unknown parameter: '" + at + "." + field + "'.");
      }
    }
  }

  static Failure missing(String param) {
    return Failure.invalid(param, "missing_required_parameter", "Missing required parameter: '" + param + "'.");
  }
}
