package dev.agenthub.protocol;

import io.vertx.core.json.JsonObject;

/**
 * Whether, and which, tool the model must call: OpenAI's {@code tool_choice}. {@code auto} lets the
 * model decide, {@code none} forbids every tool call, {@code required} asks for at least one, and a
 * named function asks for that one. Each provider client maps it to its own wire.
 *
 * @param mode     what the model may or must do
 * @param function the function's name when {@code mode} is {@link Mode#FUNCTION}, else null
 */
public record ToolChoice(Mode mode, String function) {

  /** The four choices OpenAI knows. */
  public enum Mode { AUTO, NONE, REQUIRED, FUNCTION }

  public static final ToolChoice AUTO = new ToolChoice(Mode.AUTO, null);
  public static final ToolChoice NONE = new ToolChoice(Mode.NONE, null);
  public static final ToolChoice REQUIRED = new ToolChoice(Mode.REQUIRED, null);

  public ToolChoice {
    if ((mode == Mode.FUNCTION) != (function != null)) {
      throw new IllegalArgumentException("a function is named exactly when the mode is FUNCTION");
    }
  }

  /** The model must call the function {@code name}. */
  public static ToolChoice function(String name) {
    return new ToolChoice(Mode.FUNCTION, name);
  }

  /** True unless the model may decide for itself. */
  public boolean forced() {
    return mode != Mode.AUTO;
  }

  /** OpenAI's shape: {@code "auto"}, {@code "none"}, {@code "required"} or {@code {type: function, function: {name}}}. */
  public Object toJson() {
    return switch (mode) {
      case AUTO -> "auto";
      case NONE -> "none";
      case REQUIRED -> "required";
      case FUNCTION -> new JsonObject().put("type", "function").put("function", new JsonObject().put("name", function));
    };
  }

  /**
   * Reads OpenAI's shape (null: null); anything else is a 400 naming {@code tool_choice}, as OpenAI
   * answers it.
   */
  public static ToolChoice fromJson(Object value) {
    if (value == null) {
      return null;
    }
    if (value instanceof String s) {
      return switch (s) {
        case "auto" -> AUTO;
        case "none" -> NONE;
        case "required" -> REQUIRED;
        default -> throw Failure.invalid("tool_choice", "invalid_value", "Invalid value: '" + s
          + "'. Supported values are: 'none', 'auto', and 'required'.");
      };
    }
    if (value instanceof JsonObject o) {
      if (!"function".equals(o.getValue("type"))) {
        throw Failure.unsupported("tool_choice", "only a tool_choice of type 'function' names a tool here");
      }
      if (!(o.getValue("function") instanceof JsonObject fn) || !(fn.getValue("name") instanceof String name)
        || name.isEmpty()) {
        throw Failure.invalid("tool_choice", "missing_required_parameter",
          "Missing required parameter: 'tool_choice.function.name'.");
      }
      return function(name);
    }
    throw Failure.invalid("tool_choice", "invalid_type", "Invalid type for 'tool_choice': expected one of a string "
      + "or an object.");
  }
}
