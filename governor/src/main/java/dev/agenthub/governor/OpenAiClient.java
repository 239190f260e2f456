package dev.agenthub.governor;

import dev.agenthub.config.HubConfig;
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
 * Chat completions on any OpenAI-compatible base URL (OpenAI, Ollama, vLLM, llama.cpp, LM Studio, the
 * mock), as today's API wants them: the output cap as {@code max_completion_tokens} (or the model's
 * {@code token-param}), streams with {@code stream_options.include_usage}, finish reasons mapped,
 * cached prompt tokens and reasoning tokens read from the usage details. Tool names with dots (our
 * skills) are sent with {@code __} instead, as OpenAI allows only {@code [A-Za-z0-9_-]}, and mapped back.
 */
final class OpenAiClient extends HttpProviderClient {

  OpenAiClient(Vertx vertx, HttpClientAgent http, String baseUrl) {
    super(vertx, http, ProviderClient.endpoint(baseUrl, "/chat/completions"));
  }

  @Override
  boolean takesStop(HubConfig.Model model) {
    return !OpenAiModels.reasoning(model.name());
  }

  @Override
  void headers(RequestOptions request, String secret) {
    request.putHeader("Authorization", "Bearer " + secret);
  }

  @Override
  JsonObject body(Call call, boolean sendStop) {
    JsonObject body = new JsonObject().put("model", call.model().name()).put("messages", outgoing(call.messages()))
      .put(call.model().tokenParam(), call.maxTokens());
    if (!call.tools().isEmpty()) {
      body.put("tools", outgoingToolsOf(call.tools()));
      if (call.toolChoice() != null && call.toolChoice().forced()) {
        body.put("tool_choice", toolChoice(call.toolChoice()));
      }
    }
    if (sendStop && !call.stop().isEmpty()) {
      body.put("stop", new JsonArray(call.stop()));
    }
    if (call.streamed()) {
      body.put("stream", true).put("stream_options", new JsonObject().put("include_usage", true));
    }
    return body;
  }

  @Override
  Result parse(MultiMap headers, JsonObject json) {
    return answer(headers, json);
  }

  /** One chat completion object (a plain answer, or one line of a batch's output). */
  static Result answer(MultiMap headers, JsonObject json) {
    JsonObject choice = json.getJsonArray("choices").getJsonObject(0);
    JsonObject message = choice.getJsonObject("message");
    String content = message.getString("content");
    String finish = finishReason(choice.getString("finish_reason"));
    if (content == null && message.getString("refusal") != null) {
      content = message.getString("refusal");
      finish = "content_filter";
    }
    JsonArray calls = new JsonArray();
    JsonArray raw = message.getJsonArray("tool_calls", new JsonArray());
    for (int i = 0; i < raw.size(); i++) {
      JsonObject fn = raw.getJsonObject(i).getJsonObject("function");
      calls.add(toolCall(raw.getJsonObject(i).getString("id"), fn.getString("name"), fn.getString("arguments", "{}")));
    }
    return Result.answer(headers, content == null ? "" : content, calls, usage(json.getJsonObject("usage")), finish);
  }

  /** OpenAI's usage, details included (absent details are zero). */
  static ModelCall.Usage usage(JsonObject usage) {
    if (usage == null) {
      return ModelCall.Usage.NONE;
    }
    JsonObject prompt = usage.getJsonObject("prompt_tokens_details", new JsonObject());
    JsonObject completion = usage.getJsonObject("completion_tokens_details", new JsonObject());
    return new ModelCall.Usage(usage.getLong("prompt_tokens", 0L), longOf(prompt, "cached_tokens"), 0,
      usage.getLong("completion_tokens", 0L), longOf(completion, "reasoning_tokens"));
  }

  private static long longOf(JsonObject o, String field) {
    Object v = o.getValue(field);
    return v instanceof Number n ? n.longValue() : 0;
  }

  /** The hub's finish reasons are OpenAI's: stop, length, tool_calls, content_filter. */
  static String finishReason(String reason) {
    if (reason == null) {
      return "stop";
    }
    return switch (reason) {
      case "length", "tool_calls", "content_filter" -> reason;
      case "function_call" -> "tool_calls";
      default -> "stop";
    };
  }

  static JsonObject toolCall(String id, String name, String arguments) {
    JsonObject args;
    try {
      args = new JsonObject(arguments == null || arguments.isBlank() ? "{}" : arguments);
    } catch (RuntimeException e) {
      args = new JsonObject().put("raw", arguments);
    }
    return new JsonObject().put("id", id).put("name", name.replace("__", ".")).put("arguments", args);
  }

  @Override
  Decoder decoder() {
    return new StreamDecoder();
  }

  /** {@code data:} chunks: content deltas, tool calls in pieces by index, then usage, then {@code [DONE]}. */
  private static final class StreamDecoder implements Decoder {
    private final Map<Integer, String[]> calls = new TreeMap<>();
    private String finish;
    private boolean refused;
    private ModelCall.Usage usage = ModelCall.Usage.NONE;
    private boolean done;

    @Override
    public void event(String name, String data, Consumer<String> text) {
      if (data.equals("[DONE]")) {
        done = true;
        return;
      }
      JsonObject chunk = new JsonObject(data);
      JsonObject error = chunk.getJsonObject("error");
      if (error != null) {
        throw new StreamError(0, error.getString("message", "the provider reported an error mid-stream"));
      }
      if (chunk.getValue("usage") instanceof JsonObject u) {
        usage = usage(u);
      }
      JsonArray choices = chunk.getJsonArray("choices", new JsonArray());
      if (choices.isEmpty()) {
        return;
      }
      JsonObject choice = choices.getJsonObject(0);
      JsonObject delta = choice.getJsonObject("delta", new JsonObject());
      if (delta.getValue("content") instanceof String s) {
        text.accept(s);
      }
      if (delta.getValue("refusal") instanceof String s) {
        refused = true;
        text.accept(s);
      }
      JsonArray toolCalls = delta.getJsonArray("tool_calls");
      if (toolCalls != null) {
        for (int i = 0; i < toolCalls.size(); i++) {
          JsonObject tc = toolCalls.getJsonObject(i);
          String[] acc = calls.computeIfAbsent(tc.getInteger("index", i), k -> new String[]{null, "", ""});
          if (tc.getString("id") != null) {
            acc[0] = tc.getString("id");
          }
          JsonObject fn = tc.getJsonObject("function", new JsonObject());
          if (fn.getString("name") != null) {
            acc[1] += fn.getString("name");
          }
          if (fn.getString("arguments") != null) {
            acc[2] += fn.getString("arguments");
          }
        }
      }
      if (choice.getValue("finish_reason") instanceof String f) {
        finish = f;
      }
    }

    @Override
    public boolean done() {
      return done;
    }

    @Override
    public Result finish(MultiMap headers, String content) {
      JsonArray out = new JsonArray();
      calls.values().forEach(c -> out.add(toolCall(c[0], c[1], c[2])));
      return Result.answer(headers, content, out, usage, refused ? "content_filter" : finishReason(finish));
    }
  }

  /**
   * {@code tool_choice} as OpenAI takes it ({@code "none"}, {@code "required"}, or the named function
   * under its wire name); only sent with tools, which OpenAI requires.
   */
  static Object toolChoice(ToolChoice choice) {
    if (choice.mode() == ToolChoice.Mode.FUNCTION) {
      return ToolChoice.function(choice.function().replace(".", "__")).toJson();
    }
    return choice.toJson();
  }

  static JsonArray outgoing(JsonArray messages) {
    JsonArray out = new JsonArray();
    for (int i = 0; i < messages.size(); i++) {
      JsonObject m = messages.getJsonObject(i);
      JsonArray calls = m.getJsonArray("tool_calls");
      if (calls != null) {
        m = m.copy(); // only messages with tool calls change: their tool names
        calls = m.getJsonArray("tool_calls");
        for (int j = 0; j < calls.size(); j++) {
          JsonObject fn = calls.getJsonObject(j).getJsonObject("function");
          fn.put("name", fn.getString("name").replace(".", "__"));
        }
      }
      out.add(m);
    }
    return out;
  }

  // an agent's tools are the same call after call: their outgoing form is kept for the last list seen,
  // compared by content when it is not the same object (neither list is changed once made)
  private record ToolsMemo(JsonArray tools, JsonArray outgoing) {
  }

  private volatile ToolsMemo lastTools = new ToolsMemo(new JsonArray(), new JsonArray());

  private JsonArray outgoingToolsOf(JsonArray tools) {
    ToolsMemo memo = lastTools;
    if (tools != memo.tools() && !tools.equals(memo.tools())) {
      memo = new ToolsMemo(tools, outgoingTools(tools));
      lastTools = memo;
    }
    return memo.outgoing();
  }

  static JsonArray outgoingTools(JsonArray tools) {
    JsonArray out = new JsonArray();
    for (int i = 0; i < tools.size(); i++) {
      JsonObject t = tools.getJsonObject(i).copy();
      JsonObject fn = t.getJsonObject("function");
      fn.put("name", fn.getString("name").replace(".", "__"));
      out.add(t);
    }
    return out;
  }
}
