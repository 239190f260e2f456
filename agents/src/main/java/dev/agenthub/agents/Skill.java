package dev.agenthub.agents;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The built-in skills, defined once: the name an agent's config lists, the tool schema the model
 * is offered, and whether a sensitive agent may have it (nothing that reaches outside the hub). The
 * config loader checks agents against this list and {@link Skills} runs them.
 */
public enum Skill {

  MEMORY_READ("memory.read", true, "Read a memory file, or one '## ' section of it. A bare file name means your own "
    + "folder.", props("path", "string", "section", "string"), "path"),
  MEMORY_APPEND("memory.append", true, "Append a dated entry to a memory file (a bare name like MEMORY.md means your "
    + "own folder).", props("path", "string", "text", "string"), "path", "text"),
  MEMORY_SEARCH("memory.search", true, "Search the memory files you may read; answers file, line and excerpt.",
    props("query", "string", "prefix", "string"), "query"),
  TIME_NOW("time.now", true, "The current date and time (UTC).", new JsonObject()),
  AGENT_DELEGATE("agent.delegate", true, "Ask another agent and get its answer.",
    props("agent", "string", "text", "string"), "agent", "text"),
  HTTP_FETCH("http.fetch", false, "Fetch a URL on one of the hosts this agent may reach.", props("url", "string"),
    "url");

  private final String id;
  private final boolean sensitiveSafe;
  private final JsonObject schema;

  Skill(String id, boolean sensitiveSafe, String description, JsonObject properties, String... required) {
    this.id = id;
    this.sensitiveSafe = sensitiveSafe;
    this.schema = new JsonObject().put("type", "function").put("function", new JsonObject()
      .put("name", id).put("description", description)
      .put("parameters", new JsonObject().put("type", "object").put("properties", properties)
        .put("required", new JsonArray(List.of(required)))));
  }

  /** The name configs and models use, e.g. {@code memory.read}. */
  public String id() {
    return id;
  }

  /** Whether a sensitive agent may have it: it reaches nothing outside the hub. */
  public boolean sensitiveSafe() {
    return sensitiveSafe;
  }

  /** The tool the model is offered (OpenAI's function shape); not to be changed by callers. */
  JsonObject schema() {
    return schema;
  }

  public static Optional<Skill> of(String id) {
    return Arrays.stream(values()).filter(s -> s.id.equals(id)).findFirst();
  }

  /** Every skill's name. */
  public static Set<String> ids() {
    return Arrays.stream(values()).map(Skill::id).collect(Collectors.toUnmodifiableSet());
  }

  /** The names a sensitive agent may have. */
  public static Set<String> sensitiveSafeIds() {
    return Arrays.stream(values()).filter(Skill::sensitiveSafe).map(Skill::id).collect(Collectors.toUnmodifiableSet());
  }

  private static JsonObject props(String... nameType) {
    JsonObject props = new JsonObject();
    for (int i = 0; i < nameType.length; i += 2) {
      props.put(nameType[i], new JsonObject().put("type", nameType[i + 1]));
    }
    return props;
  }
}
