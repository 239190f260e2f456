package dev.agenthub.devtools.mock;

import dev.agenthub.governor.SimProvider;
import dev.agenthub.protocol.ToolChoice;

import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * The mock's Anthropic Messages API ({@code POST /v1/messages}), as strict as Anthropic where it is
 * strict: {@code x-api-key} and {@code anthropic-version} required, {@code max_tokens} required, no
 * unknown fields, {@code system} only at the top level, roles user and assistant only, each
 * {@code tool_result} answering a {@code tool_use} of the message before and every {@code tool_use}
 * answered in the next message, {@code tool_choice} only with tools and naming one of them, at most four
 * {@code cache_control} breakpoints. Usage reports cache reads and writes at those breakpoints.
 * Errors are Anthropic's: {@code {"type":"error","error":{"type","message"}}}.
 */
final class MockAnthropic {

  private static final Set<String> FIELDS = Set.of("model", "messages", "max_tokens", "system", "stop_sequences",
    "stream", "temperature", "top_p", "top_k", "tools", "tool_choice", "metadata", "thinking", "service_tier");
  private static final Pattern TOOL_NAME = Pattern.compile("[a-zA-Z0-9_-]{1,128}");

  private final MockLlm mock;

  MockAnthropic(MockLlm mock) {
    this.mock = mock;
  }

  void messages(RoutingContext ctx) {
    String secret = ctx.request().getHeader("x-api-key");
    MockLlm.KeyState key = mock.key(secret);
    if (!mock.anyKey() && key == null) {
      mock.refused();
      error(ctx.response(), 401, "authentication_error", "invalid x-api-key");
      return;
    }
    if (ctx.request().getHeader("anthropic-version") == null) {
      mock.refused();
      error(ctx.response(), 400, "invalid_request_error", "anthropic-version: header is required");
      return;
    }
    JsonObject body = MockLlm.jsonBody(ctx);
    if (body == null) {
      mock.refused();
      error(ctx.response(), 400, "invalid_request_error", "There was an issue with your request body: not JSON");
      return;
    }
    String invalid = check(body);
    if (invalid != null) {
      mock.refused();
      error(ctx.response(), 400, "invalid_request_error", invalid);
      return;
    }
    int max = body.getInteger("max_tokens");
    Prompt prompt = prompt(body);
    MockLlm.Admission admission = mock.admit(key, prompt.tokens + max);
    if (!admission.admitted()) {
      HttpServerResponse r = ctx.response();
      r.putHeader("retry-after", String.valueOf(Math.max(1, (admission.waitMs() + 999) / 1000)));
      r.putHeader("anthropic-ratelimit-requests-remaining", "0");
      error(r, 429, "rate_limit_error", "This request would exceed the rate limit for your organization.");
      return;
    }
    if (mock.injectError()) {
      mock.failed();
      mock.vertx.setTimer(Math.max(1, mock.latencyMs), id -> error(ctx.response(), 529, "overloaded_error", "Overloaded"));
      return;
    }
    SimProvider.Answer answer;
    try {
      answer = mock.sim.complete(body.getString("model"), openAiShape(body), openAiTools(body), max,
        stops(body), toolChoice(body.getJsonObject("tool_choice")));
    } catch (SimProvider.Failure e) {
      mock.failed();
      error(ctx.response(), 500, "api_error", e.getMessage());
      return;
    }
    long read = mock.promptCache.readAndRemember(prompt.hashes, prompt.prefixTokens);
    long write = 0;
    for (long t : prompt.prefixTokens) {
      if (t >= MockPromptCache.MIN_TOKENS) {
        write = Math.max(write, t);
      }
    }
    write = Math.max(0, write - read);
    long plainInput = Math.max(0, prompt.tokens - read - write);
    JsonObject usage = new JsonObject().put("input_tokens", plainInput).put("cache_creation_input_tokens", write)
      .put("cache_read_input_tokens", read).put("output_tokens", answer.outputTokens());
    String stopReason = switch (answer.finishReason()) {
      case "length" -> "max_tokens";
      case "tool_calls" -> "tool_use";
      default -> "end_turn";
    };
    String id = "msg_mock" + Long.toHexString(System.nanoTime());
    String model = body.getString("model");
    JsonArray content = new JsonArray();
    if (!answer.content().isEmpty()) {
      content.add(new JsonObject().put("type", "text").put("text", answer.content()));
    }
    for (int i = 0; i < answer.toolCalls().size(); i++) {
      JsonObject c = answer.toolCalls().getJsonObject(i);
      content.add(new JsonObject().put("type", "tool_use").put("id", "toolu_" + c.getString("id"))
        .put("name", c.getString("name").replace(".", "__")).put("input", c.getValue("arguments")));
    }
    MockLlm.KeyState k = key;
    boolean stream = Boolean.TRUE.equals(body.getValue("stream"));
    Runnable whole = () -> {
      mock.settle(k, max, answer.outputTokens());
      ctx.response().putHeader("Content-Type", "application/json").end(new JsonObject().put("id", id)
        .put("type", "message").put("role", "assistant").put("model", model).put("content", content)
        .put("stop_reason", stopReason).putNull("stop_sequence").put("usage", usage).encode());
    };
    List<String> pieces = new ArrayList<>();
    StringBuilder tail = new StringBuilder();
    String head = event("message_start", new JsonObject().put("type", "message_start").put("message",
      new JsonObject().put("id", id).put("type", "message").put("role", "assistant").put("model", model)
        .put("content", new JsonArray()).putNull("stop_reason").putNull("stop_sequence")
        .put("usage", usage.copy().put("output_tokens", 1))));
    if (stream) {
      mock.settle(k, max, answer.outputTokens());
      int index = 0;
      if (!answer.content().isEmpty()) {
        head += event("content_block_start", new JsonObject().put("type", "content_block_start").put("index", 0)
          .put("content_block", new JsonObject().put("type", "text").put("text", "")))
          + event("ping", new JsonObject().put("type", "ping"));
        for (String text : SimProvider.pieces(answer.content())) {
          pieces.add(event("content_block_delta", new JsonObject().put("type", "content_block_delta").put("index", 0)
            .put("delta", new JsonObject().put("type", "text_delta").put("text", text))));
        }
        tail.append(event("content_block_stop", new JsonObject().put("type", "content_block_stop").put("index", 0)));
        index++;
      }
      for (int i = 0; i < content.size(); i++) {
        JsonObject block = content.getJsonObject(i);
        if (!"tool_use".equals(block.getString("type"))) {
          continue;
        }
        String json = block.getValue("input") instanceof JsonObject o ? o.encode() : "{}";
        int cut = json.length() / 2;
        tail.append(event("content_block_start", new JsonObject().put("type", "content_block_start").put("index", index)
            .put("content_block", new JsonObject().put("type", "tool_use").put("id", block.getString("id"))
              .put("name", block.getString("name")).put("input", new JsonObject()))))
          .append(event("content_block_delta", new JsonObject().put("type", "content_block_delta").put("index", index)
            .put("delta", new JsonObject().put("type", "input_json_delta").put("partial_json", json.substring(0, cut)))))
          .append(event("content_block_delta", new JsonObject().put("type", "content_block_delta").put("index", index)
            .put("delta", new JsonObject().put("type", "input_json_delta").put("partial_json", json.substring(cut)))))
          .append(event("content_block_stop", new JsonObject().put("type", "content_block_stop").put("index", index)));
        index++;
      }
      tail.append(event("message_delta", new JsonObject().put("type", "message_delta")
          .put("delta", new JsonObject().put("stop_reason", stopReason).putNull("stop_sequence"))
          .put("usage", new JsonObject().put("output_tokens", answer.outputTokens()))))
        .append(event("message_stop", new JsonObject().put("type", "message_stop")));
    }
    mock.answer(ctx, stream, whole, head, pieces, tail.toString());
  }

  private static String check(JsonObject body) {
    for (String field : body.fieldNames()) {
      if (!FIELDS.contains(field)) {
        return field + ": Extra inputs are not permitted";
      }
    }
    if (!(body.getValue("model") instanceof String model) || model.isEmpty()) {
      return "model: Field required";
    }
    if (!(body.getValue("max_tokens") instanceof Number n) || n.intValue() < 1) {
      return "max_tokens: Field required";
    }
    if (!(body.getValue("messages") instanceof JsonArray messages) || messages.isEmpty()) {
      return "messages: Field required";
    }
    Object system = body.getValue("system");
    int breakpoints = 0;
    if (system instanceof JsonArray blocks) {
      for (int i = 0; i < blocks.size(); i++) {
        JsonObject b = blocks.getJsonObject(i);
        if (!"text".equals(b.getString("type")) || !(b.getValue("text") instanceof String)) {
          return "system." + i + ": Input should be a valid text block";
        }
        breakpoints += b.containsKey("cache_control") ? 1 : 0;
      }
    } else if (system != null && !(system instanceof String)) {
      return "system: Input should be a valid string or list of text blocks";
    }
    JsonArray tools = body.getJsonArray("tools", new JsonArray());
    Set<String> names = new HashSet<>();
    for (int i = 0; i < tools.size(); i++) {
      JsonObject t = tools.getJsonObject(i);
      if (!TOOL_NAME.matcher(t.getString("name", "")).matches()) {
        return "tools." + i + ".custom.name: String should match pattern '^[a-zA-Z0-9_-]{1,128}$'";
      }
      if (!(t.getValue("input_schema") instanceof JsonObject)) {
        return "tools." + i + ".custom.input_schema: Field required";
      }
      names.add(t.getString("name"));
      breakpoints += t.containsKey("cache_control") ? 1 : 0;
    }
    String choice = checkToolChoice(body.getValue("tool_choice"), names, tools.isEmpty());
    if (choice != null) {
      return choice;
    }
    Set<String> toolUses = new HashSet<>();
    for (int i = 0; i < messages.size(); i++) {
      if (!(messages.getValue(i) instanceof JsonObject m)) {
        return "messages." + i + ": Input should be a valid dictionary";
      }
      String role = m.getValue("role") instanceof String r ? r : "";
      if (role.equals("system")) {
        return "messages: Unexpected role \"system\". The Messages API accepts a top-level `system` parameter, "
          + "not \"system\" as an input message role.";
      }
      if (!role.equals("user") && !role.equals("assistant")) {
        return "messages." + i + ".role: Input should be 'user' or 'assistant'";
      }
      Object content = m.getValue("content");
      Set<String> uses = new HashSet<>();
      if (content instanceof JsonArray blocks) {
        if (blocks.isEmpty()) {
          return "messages." + i + ": all messages must have non-empty content";
        }
        for (int j = 0; j < blocks.size(); j++) {
          JsonObject b = blocks.getJsonObject(j);
          String type = b.getString("type", "");
          breakpoints += b.containsKey("cache_control") ? 1 : 0;
          switch (type) {
            case "text" -> {
              if (!(b.getValue("text") instanceof String)) {
                return "messages." + i + ".content." + j + ".text.text: Field required";
              }
            }
            case "tool_use" -> {
              if (!role.equals("assistant")) {
                return "messages." + i + ".content." + j + ": tool_use blocks may only be in assistant messages";
              }
              uses.add(b.getString("id"));
            }
            case "tool_result" -> {
              if (!role.equals("user") || !toolUses.contains(b.getString("tool_use_id"))) {
                return "messages." + i + ".content." + j + ": unexpected `tool_use_id` found in `tool_result` blocks: "
                  + b.getString("tool_use_id") + ". Each `tool_result` block must have a corresponding `tool_use` "
                  + "block in the previous message.";
              }
            }
            default -> {
              return "messages." + i + ".content." + j + ": Input tag '" + type + "' does not match any of the expected "
                + "tags";
            }
          }
        }
      } else if (!(content instanceof String s) || s.isEmpty()) {
        return "messages." + i + ": all messages must have non-empty content";
      }
      if (!toolUses.isEmpty()) {
        Set<String> answered = new HashSet<>();
        if (content instanceof JsonArray blocks) {
          blocks.forEach(b -> answered.add(((JsonObject) b).getString("tool_use_id")));
        }
        Set<String> unanswered = new HashSet<>(toolUses);
        unanswered.removeAll(answered);
        if (!unanswered.isEmpty()) {
          return "messages." + i + ": `tool_use` ids were found without `tool_result` blocks immediately after: "
            + String.join(", ", unanswered) + ". Each `tool_use` block must have a corresponding `tool_result` block "
            + "in the next message.";
        }
      }
      toolUses = uses;
    }
    if (breakpoints > 4) {
      return "A maximum of 4 blocks with cache_control may be provided. Found " + breakpoints + ".";
    }
    return null;
  }

  /** {@code tool_choice}: only with tools; {@code {type: auto | any | none}} or {@code {type: tool, name}} of a tool. */
  private static String checkToolChoice(Object choice, Set<String> names, boolean noTools) {
    if (choice == null) {
      return null;
    }
    if (noTools) {
      return "tool_choice: tool_choice may only be specified while providing tools";
    }
    if (!(choice instanceof JsonObject o) || !(o.getValue("type") instanceof String type)
      || !Set.of("auto", "any", "tool", "none").contains(type)) {
      return "tool_choice: Input tag does not match any of the expected tags: 'auto', 'any', 'tool', 'none'";
    }
    if (type.equals("tool") && !(o.getValue("name") instanceof String name && names.contains(name))) {
      return "tool_choice.tool.name: the tool named by tool_choice is not one of the tools";
    }
    return null;
  }

  /** The tools as the sim reads them (OpenAI's shape, names as sent). */
  private static JsonArray openAiTools(JsonObject body) {
    JsonArray out = new JsonArray();
    for (Object t : body.getJsonArray("tools", new JsonArray())) {
      out.add(new JsonObject().put("type", "function").put("function",
        new JsonObject().put("name", ((JsonObject) t).getString("name"))));
    }
    return out;
  }

  /** Anthropic's tool choice as the sim reads it. */
  private static ToolChoice toolChoice(JsonObject choice) {
    if (choice == null) {
      return null;
    }
    return switch (choice.getString("type")) {
      case "any" -> ToolChoice.REQUIRED;
      case "none" -> ToolChoice.NONE;
      case "tool" -> ToolChoice.function(choice.getString("name"));
      default -> ToolChoice.AUTO;
    };
  }

  /** The prompt's tokens (about 3.5 characters a token for Claude), and its prefixes at each cache breakpoint. */
  private record Prompt(long tokens, String[] hashes, long[] prefixTokens) {
  }

  private static Prompt prompt(JsonObject body) {
    List<String> hashes = new ArrayList<>();
    List<Long> sizes = new ArrayList<>();
    StringBuilder prefix = new StringBuilder(body.getString("model"));
    long[] chars = {0};
    Consumer<Object> add = part -> {
      String text = part instanceof JsonObject o ? o.copy().put("cache_control", (Object) null).encode() : String.valueOf(part);
      prefix.append('\u0000').append(text);
      chars[0] += text.length();
    };
    Consumer<JsonObject> mark = block -> {
      if (block.containsKey("cache_control")) {
        hashes.add(MockLlm.sha(prefix.toString()));
        sizes.add(tokens(chars[0]));
      }
    };
    for (Object t : body.getJsonArray("tools", new JsonArray())) {
      add.accept(t);
      mark.accept((JsonObject) t);
    }
    Object system = body.getValue("system");
    if (system instanceof JsonArray blocks) {
      for (Object b : blocks) {
        add.accept(b);
        mark.accept((JsonObject) b);
      }
    } else if (system != null) {
      add.accept(system);
    }
    for (Object m : body.getJsonArray("messages")) {
      JsonObject message = (JsonObject) m;
      if (message.getValue("content") instanceof JsonArray blocks) {
        for (Object b : blocks) {
          add.accept(message.getString("role") + ":" + ((JsonObject) b).copy().put("cache_control", (Object) null).encode());
          mark.accept((JsonObject) b);
        }
      } else {
        add.accept(message.getString("role") + ":" + message.getString("content"));
      }
    }
    return new Prompt(tokens(chars[0]), hashes.toArray(String[]::new), sizes.stream().mapToLong(Long::longValue).toArray());
  }

  private static long tokens(long chars) {
    return Math.max(1, (chars * 2 + 6) / 7);
  }

  private static List<String> stops(JsonObject body) {
    List<String> out = new ArrayList<>();
    body.getJsonArray("stop_sequences", new JsonArray()).forEach(s -> out.add(String.valueOf(s)));
    return out;
  }

  /** The conversation as the sim reads it (OpenAI's chat shape). */
  private static JsonArray openAiShape(JsonObject body) {
    JsonArray out = new JsonArray();
    Object system = body.getValue("system");
    if (system instanceof String s) {
      out.add(new JsonObject().put("role", "system").put("content", s));
    } else if (system instanceof JsonArray blocks) {
      StringBuilder sb = new StringBuilder();
      blocks.forEach(b -> sb.append(((JsonObject) b).getString("text", "")));
      out.add(new JsonObject().put("role", "system").put("content", sb.toString()));
    }
    for (Object m : body.getJsonArray("messages")) {
      JsonObject message = (JsonObject) m;
      Object content = message.getValue("content");
      if (content instanceof String s) {
        out.add(new JsonObject().put("role", message.getString("role")).put("content", s));
        continue;
      }
      StringBuilder text = new StringBuilder();
      for (Object b : (JsonArray) content) {
        JsonObject block = (JsonObject) b;
        switch (block.getString("type")) {
          case "text" -> text.append(block.getString("text"));
          case "tool_result" -> out.add(new JsonObject().put("role", "tool")
            .put("tool_call_id", block.getString("tool_use_id")).put("content", String.valueOf(block.getValue("content"))));
          default -> {
            // tool_use: the sim only needs to know a tool ran, from the results
          }
        }
      }
      if (!text.isEmpty()) {
        out.add(new JsonObject().put("role", message.getString("role")).put("content", text.toString()));
      }
    }
    return out;
  }

  private static String event(String name, JsonObject data) {
    return "event: " + name + "\ndata: " + data.encode() + "\n\n";
  }

  static void error(HttpServerResponse r, int status, String type, String message) {
    r.setStatusCode(status).putHeader("Content-Type", "application/json")
      .end(new JsonObject().put("type", "error").put("error", new JsonObject().put("type", type)
        .put("message", message)).encode());
  }
}
