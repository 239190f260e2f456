package dev.agenthub.mcp;

import io.vertx.core.json.JsonObject;
import io.vertx.json.schema.Draft;
import io.vertx.json.schema.JsonSchema;
import io.vertx.json.schema.JsonSchemaOptions;
import io.vertx.json.schema.OutputFormat;
import io.vertx.json.schema.OutputUnit;
import io.vertx.json.schema.Validator;

import java.util.ArrayList;
import java.util.List;

/**
 * One tool as its server lists it, with its {@code inputSchema} ready to check the model's
 * arguments before a call reaches the server. The schema's own {@code $schema} picks the draft
 * (MCP's default is 2020-12); a schema the validator cannot read checks only that the arguments
 * are an object, and says so once in the log.
 */
final class ToolSchema {

  private final String name;
  private final String description;
  private final JsonObject inputSchema;
  private Validator validator;
  private boolean unreadable;

  ToolSchema(String name, String description, JsonObject inputSchema) {
    this.name = name;
    this.description = description == null ? "" : description;
    this.inputSchema = inputSchema == null ? new JsonObject().put("type", "object") : inputSchema;
  }

  /** The tool's name as its server knows it. */
  String name() {
    return name;
  }

  /** A tool as the server lists it ({@code tools/list}'s entry), or null when it is not usable. */
  static ToolSchema of(JsonObject listed) {
    String name = listed.getString("name");
    Object schema = listed.getValue("inputSchema");
    if (name == null || name.isEmpty() || !(schema instanceof JsonObject)) {
      return null;
    }
    return new ToolSchema(name, listed.getString("description", listed.getString("title", "")), (JsonObject) schema);
  }

  /**
   * The OpenAI function tool the model is offered, named {@code fullName}; the schema without its
   * {@code $schema} (some providers refuse the key).
   */
  JsonObject function(String fullName) {
    JsonObject parameters = inputSchema.copy();
    parameters.remove("$schema");
    if (!parameters.containsKey("type")) {
      parameters.put("type", "object");
    }
    return new JsonObject().put("type", "function").put("function", new JsonObject().put("name", fullName)
      .put("description", description).put("parameters", parameters));
  }

  /** Why {@code arguments} do not fit the schema, or an empty list when they do. */
  List<String> problems(JsonObject arguments) {
    Validator v = validator();
    if (v == null) {
      return List.of();
    }
    OutputUnit out;
    try {
      out = v.validate(arguments);
    } catch (RuntimeException e) {
      return List.of("the arguments could not be checked against the tool's schema: " + e.getMessage());
    }
    if (Boolean.TRUE.equals(out.getValid())) {
      return List.of();
    }
    List<String> problems = new ArrayList<>();
    List<OutputUnit> errors = out.getErrors() == null ? List.of() : out.getErrors();
    for (OutputUnit e : errors) {
      String where = e.getInstanceLocation() == null || e.getInstanceLocation().isEmpty() ? "arguments"
        : "arguments" + e.getInstanceLocation();
      problems.add(where + ": " + e.getError());
      if (problems.size() == 5) {
        break;
      }
    }
    if (problems.isEmpty()) {
      problems.add(out.getError() == null ? "the arguments do not fit the tool's input schema" : out.getError());
    }
    return problems;
  }

  /** Whether the schema could not be read (the arguments are then only checked to be an object). */
  boolean unreadable() {
    validator();
    return unreadable;
  }

  private Validator validator() {
    if (validator == null && !unreadable) {
      try {
        validator = Validator.create(JsonSchema.of(inputSchema), new JsonSchemaOptions().setDraft(draft(inputSchema))
          .setBaseUri("urn:agenthub:mcp:tool").setOutputFormat(OutputFormat.Basic));
      } catch (RuntimeException e) {
        unreadable = true;
      }
    }
    return validator;
  }

  static Draft draft(JsonObject schema) {
    String id = schema.getString("$schema", "");
    if (id.contains("draft-04")) {
      return Draft.DRAFT4;
    }
    if (id.contains("draft-07") || id.contains("draft-06")) {
      return Draft.DRAFT7;
    }
    if (id.contains("2019-09")) {
      return Draft.DRAFT201909;
    }
    return Draft.DRAFT202012;
  }
}
