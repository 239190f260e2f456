package dev.agenthub.governor;

import dev.agenthub.protocol.ModelCall;
import dev.agenthub.protocol.ToolChoice;

import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * The Anthropic Messages API with tool use and streaming. Chat messages in the OpenAI shape are
 * converted: system messages become the top-level {@code system} blocks, assistant tool calls
 * {@code tool_use} blocks, tool results {@code tool_result} blocks in one user message, and messages of
 * one role in a row are merged. The long stable prefix (tools and system: persona, memory, skills)
 * and the conversation so far are marked {@code cache_control}, so the next turn reads them from the
 * prompt cache; cache reads and writes come back in the usage and are priced as such.
 */
final class AnthropicClient extends HttpProviderClient {

  static final String VERSION = "2023-06-01";
  private static final JsonObject EPHEMERAL = new JsonObject().put("type", "ephemeral");

  AnthropicClient(Vertx vertx, HttpClientAgent http, String baseUrl) {
    super(vertx, http, ProviderClient.endpoint(baseUrl, "/messages"));
  }

  @Override
  void headers(RequestOptions request, String secret) {
    request.putHeader("x-api-key", secret).putHeader("anthropic-version", VERSION);
  }

  @Override
  JsonObject body(Call call, boolean sendStop) {
    JsonObject body = request(call.model().name(), call.messages(), call.tools(), call.toolChoice(), call.maxTokens());
    if (sendStop && !call.stop().isEmpty()) {
      body.put("stop_sequences", new JsonArray(call.stop()));
    }
    if (call.streamed()) {
      body.put("stream", true);
    }
    return body;
  }

  static JsonObject request(String model, JsonArray messages, JsonArray tools, int maxTokens) {
    return request(model, messages, tools, null, maxTokens);
  }

  static JsonObject request(String model, JsonArray messages, JsonArray tools, ToolChoice toolChoice, int maxTokens) {
    StringBuilder system = new StringBuilder();
    JsonArray out = new JsonArray();
    for (int i = 0; i < messages.size(); i++) {
      JsonObject m = messages.getJsonObject(i);
      String role = m.getString("role");
      switch (role) {
        case "system" -> system.append(system.isEmpty() ? "" : "\n\n").append(m.getString("content", ""));
        case "tool" -> add(out, "user", new JsonObject().put("type", "tool_result")
          .put("tool_use_id", m.getString("tool_call_id")).put("content", m.getString("content", "")));
        case "assistant" -> {
          String text = m.getString("content");
          if (text != null && !text.isEmpty()) {
            add(out, "assistant", new JsonObject().put("type", "text").put("text", text));
          }
          JsonArray calls = m.getJsonArray("tool_calls", new JsonArray());
          for (int j = 0; j < calls.size(); j++) {
            JsonObject fn = calls.getJsonObject(j).getJsonObject("function");
            JsonObject input;
            try {
              input = new JsonObject(fn.getString("arguments", "{}"));
            } catch (RuntimeException e) {
              input = new JsonObject();
            }
            add(out, "assistant", new JsonObject().put("type", "tool_use").put("id", calls.getJsonObject(j).getString("id"))
              .put("name", fn.getString("name").replace(".", "__")).put("input", input));
          }
        }
        default -> add(out, "user", new JsonObject().put("type", "text").put("text", m.getString("content", "")));
      }
    }
    JsonObject body = new JsonObject().put("model", model).put("max_tokens", maxTokens).put("messages", out);
    if (!system.isEmpty()) {
      // the stable prefix: cached, so a session's next turn reads it at the cache price
      body.put("system", new JsonArray().add(new JsonObject().put("type", "text").put("text", system.toString())
        .put("cache_control", EPHEMERAL)));
    }
    if (!out.isEmpty()) {
      JsonArray last = out.getJsonObject(out.size() - 1).getJsonArray("content");
      last.getJsonObject(last.size() - 1).put("cache_control", EPHEMERAL);
    }
    if (!tools.isEmpty()) {
      JsonArray ts = new JsonArray();
      for (int i = 0; i < tools.size(); i++) {
        JsonObject fn = tools.getJsonObject(i).getJsonObject("function");
        ts.add(new JsonObject().put("name", fn.getString("name").replace(".", "__"))
          .put("description", fn.getString("description", "")).put("input_schema", fn.getJsonObject("parameters")));
      }
      body.put("tools", ts);
      if (toolChoice != null && toolChoice.forced()) {
        body.put("tool_choice", toolChoice(toolChoice));
      }
    }
    return body;
  }

  /**
   * OpenAI's {@code tool_choice} as Anthropic's: {@code {type: none | any | tool, name}} ({@code required}
   * is {@code any}); only sent with tools, which Anthropic requires.
   */
  static JsonObject toolChoice(ToolChoice choice) {
    return switch (choice.mode()) {
      case AUTO -> new JsonObject().put("type", "auto");
      case NONE -> new JsonObject().put("type", "none");
      case REQUIRED -> new JsonObject().put("type", "any");
      case FUNCTION -> new JsonObject().put("type", "tool").put("name", choice.function().replace(".", "__"));
    };
  }

  /** Appends a content block, merging it into the last message when that has the same role. */
  private static void add(JsonArray out, String role, JsonObject block) {
    JsonObject last = out.isEmpty() ? null : out.getJsonObject(out.size() - 1);
    if (last != null && role.equals(last.getString("role"))) {
      last.getJsonArray("content").add(block);
    } else {
      out.add(new JsonObject().put("role", role).put("content", new JsonArray().add(block)));
    }
  }

  @Override
  Result parse(MultiMap headers, JsonObject json) {
    StringBuilder text = new StringBuilder();
    JsonArray calls = new JsonArray();
    JsonArray content = json.getJsonArray("content", new JsonArray());
    for (int i = 0; i < content.size(); i++) {
      JsonObject block = content.getJsonObject(i);
      if ("text".equals(block.getString("type"))) {
        text.append(block.getString("text", ""));
      } else if ("tool_use".equals(block.getString("type"))) {
        calls.add(new JsonObject().put("id", block.getString("id")).put("name", block.getString("name").replace("__", "."))
          .put("arguments", block.getJsonObject("input", new JsonObject())));
      }
    }
    return Result.answer(headers, text.toString(), calls, usage(json.getJsonObject("usage"), null),
      finishReason(json.getString("stop_reason")));
  }

  /**
   * Anthropic counts cache reads and writes apart from {@code input_tokens}; the hub's input is all
   * prompt tokens. {@code start} is the usage of {@code message_start} in a stream (null otherwise).
   */
  static ModelCall.Usage usage(JsonObject usage, ModelCall.Usage start) {
    if (usage == null) {
      return start == null ? ModelCall.Usage.NONE : start;
    }
    long read = usage.getLong("cache_read_input_tokens", start == null ? 0L : start.cachedInput());
    long write = usage.getLong("cache_creation_input_tokens", start == null ? 0L : start.cacheWrite());
    long plain = usage.getValue("input_tokens") instanceof Number n ? n.longValue()
      : start == null ? 0 : start.input() - start.cachedInput() - start.cacheWrite();
    return new ModelCall.Usage(plain + read + write, read, write, usage.getLong("output_tokens", 0L), 0);
  }

  static String finishReason(String stopReason) {
    if (stopReason == null) {
      return "stop";
    }
    return switch (stopReason) {
      case "max_tokens" -> "length";
      case "tool_use" -> "tool_calls";
      case "refusal" -> "content_filter";
      default -> "stop";
    };
  }

  @Override
  Decoder decoder() {
    return new StreamDecoder();
  }

  /**
   * {@code message_start} (usage of the prompt), content blocks (text deltas, tool inputs as JSON in
   * pieces), {@code message_delta} (stop reason, output usage), {@code message_stop}; {@code error} events.
   */
  private static final class StreamDecoder implements Decoder {
    private final Map<Integer, String[]> tools = new TreeMap<>();
    private ModelCall.Usage usage = ModelCall.Usage.NONE;
    private String stopReason;
    private boolean done;

    @Override
    public void event(String name, String data, Consumer<String> text) {
      JsonObject event = new JsonObject(data);
      String type = event.getString("type", name == null ? "" : name);
      switch (type) {
        case "message_start" -> usage = usage(event.getJsonObject("message", new JsonObject()).getJsonObject("usage"),
          null);
        case "content_block_start" -> {
          JsonObject block = event.getJsonObject("content_block", new JsonObject());
          if ("tool_use".equals(block.getString("type"))) {
            tools.put(event.getInteger("index", 0), new String[]{block.getString("id"), block.getString("name"), ""});
          } else if (block.getValue("text") instanceof String s && !s.isEmpty()) {
            text.accept(s);
          }
        }
        case "content_block_delta" -> {
          JsonObject delta = event.getJsonObject("delta", new JsonObject());
          if ("text_delta".equals(delta.getString("type"))) {
            text.accept(delta.getString("text", ""));
          } else if ("input_json_delta".equals(delta.getString("type"))) {
            String[] tool = tools.get(event.getInteger("index", 0));
            if (tool != null) {
              tool[2] += delta.getString("partial_json", "");
            }
          }
        }
        case "message_delta" -> {
          JsonObject delta = event.getJsonObject("delta", new JsonObject());
          if (delta.getString("stop_reason") != null) {
            stopReason = delta.getString("stop_reason");
          }
          usage = usage(event.getJsonObject("usage"), usage);
        }
        case "message_stop" -> done = true;
        case "error" -> {
          JsonObject error = event.getJsonObject("error", new JsonObject());
          int status = "overloaded_error".equals(error.getString("type")) ? 529 : 0;
          throw new StreamError(status, error.getString("message", "the provider reported an error mid-stream"));
        }
        default -> {
          // ping, content_block_stop and future event types carry nothing the hub needs
        }
      }
    }

    @Override
    public boolean done() {
      return done;
    }

    @Override
    public Result finish(MultiMap headers, String content) {
      JsonArray calls = new JsonArray();
      for (String[] t : tools.values()) {
        calls.add(OpenAiClient.toolCall(t[0], t[1], t[2].isEmpty() ? "{}" : t[2]));
      }
      return Result.answer(headers, content, calls, usage, finishReason(stopReason));
    }
  }
}
