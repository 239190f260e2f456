package dev.agenthub.devtools.mock;

import dev.agenthub.governor.OpenAiModels;
import dev.agenthub.governor.SimProvider;
import dev.agenthub.protocol.TokenCounter;
import dev.agenthub.protocol.ToolChoice;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The mock's OpenAI chat completions, as strict as OpenAI where OpenAI is strict. Errors are
 * OpenAI's: {@code {"error":{"message","type","param","code"}}}.
 */
public final class MockOpenAi {

  private static final Set<String> FIELDS = Set.of("model", "messages", "max_tokens", "max_completion_tokens",
    "stream", "stream_options", "tools", "tool_choice", "parallel_tool_calls", "stop", "temperature", "top_p", "n",
    "user", "metadata", "store", "seed", "presence_penalty", "frequency_penalty", "logit_bias", "logprobs",
    "top_logprobs", "response_format", "reasoning_effort", "service_tier", "modalities", "audio", "prediction",
    "prompt_cache_key", "safety_identifier", "verbosity", "web_search_options", "functions", "function_call");
  private static final Pattern TOOL_NAME = Pattern.compile("[a-zA-Z0-9_-]{1,64}");
  /** What a reasoning model spends thinking before it answers, in tokens. */
  public static final int REASONING_TOKENS = 64;
  private static final int DEFAULT_MAX = 4096;

  /** A request OpenAI would refuse: its message, the parameter at fault and the error code. */
  private record Invalid(String message, String param, String code) {
  }

  private final MockLlm mock;
  // message tokens by content: a conversation comes back whole with every turn, and the mock's CPU
  // shares the machine with the hub it stands in front of
  private final Cache<String, Integer> counted =
    Caffeine.newBuilder().maximumSize(200_000).build();

  MockOpenAi(MockLlm mock) {
    this.mock = mock;
  }

  private int tokens(TokenCounter counter, JsonObject message) {
    String key = message.getString("role", "") + "\u0000" + message.getValue("content");
    return key.length() < 64 ? counter.countMessage(message) : counted.get(key, k -> counter.countMessage(message));
  }

  void complete(RoutingContext ctx) {
    String auth = ctx.request().getHeader("Authorization");
    String secret = auth != null && auth.startsWith("Bearer ") ? auth.substring(7).trim() : null;
    MockLlm.KeyState key = mock.key(secret);
    if (!mock.anyKey() && key == null) {
      mock.refused();
      error(ctx.response(), 401, "invalid_request_error", "Incorrect API key provided: "
        + (secret == null ? "none" : secret.length() > 4 ? "****" + secret.substring(secret.length() - 4) : "****")
        + ".", null, "invalid_api_key");
      return;
    }
    JsonObject body = MockLlm.jsonBody(ctx);
    if (body == null) {
      mock.refused();
      error(ctx.response(), 400, "invalid_request_error", "We could not parse the JSON body of your request.", null, null);
      return;
    }
    Invalid invalid = check(body);
    if (invalid != null) {
      mock.refused();
      error(ctx.response(), 400, "invalid_request_error", invalid.message(), invalid.param(), invalid.code());
      return;
    }
    String model = body.getString("model");
    boolean reasoning = OpenAiModels.reasoning(model);
    int max = maxTokens(body);
    long prompt = promptTokens(model, body);
    MockLlm.Admission admission = mock.admit(key, prompt + max);
    if (!admission.admitted()) {
      HttpServerResponse r = ctx.response();
      MockLlm.rateHeaders(r, key);
      r.putHeader("Retry-After", String.valueOf(Math.max(1, (admission.waitMs() + 999) / 1000)));
      r.putHeader("retry-after-ms", String.valueOf(admission.waitMs()));
      error(r, 429, "requests", "Rate limit reached for requests", null, "rate_limit_exceeded");
      return;
    }
    if (mock.injectError()) {
      mock.failed();
      mock.vertx.setTimer(Math.max(1, mock.latencyMs), id -> error(ctx.response(), 500, "server_error",
        "The server had an error while processing your request.", null, null));
      return;
    }
    SimProvider.Answer answer;
    try {
      answer = answer(body, max, reasoning);
    } catch (SimProvider.Failure e) {
      mock.failed();
      error(ctx.response(), 500, "server_error", e.getMessage(), null, null);
      return;
    }
    long cached = cachedTokens(body, prompt);
    long reasoningTokens = reasoning ? REASONING_TOKENS : 0;
    JsonObject usage = usage(prompt, cached, answer.outputTokens() + reasoningTokens, reasoningTokens);
    MockLlm.KeyState k = key;
    boolean stream = Boolean.TRUE.equals(body.getValue("stream"));
    boolean includeUsage = stream && body.getJsonObject("stream_options", new JsonObject())
      .getBoolean("include_usage", false);
    String id = "chatcmpl-mock" + Long.toHexString(System.nanoTime());
    Runnable whole = () -> {
      mock.settle(k, max, answer.outputTokens() + reasoningTokens);
      MockLlm.rateHeaders(ctx.response(), k);
      ctx.response().putHeader("Content-Type", "application/json")
        .end(completion(id, model, answer, usage).encode());
    };
    List<String> pieces = new ArrayList<>();
    if (stream) {
      mock.settle(k, max, answer.outputTokens() + reasoningTokens);
      MockLlm.rateHeaders(ctx.response(), k);
      for (String text : SimProvider.pieces(answer.content())) {
        pieces.add(event(chunk(id, model, new JsonObject().put("content", text), null, includeUsage)));
      }
      if (!answer.toolCalls().isEmpty()) {
        JsonArray calls = MockLlm.openAiCalls(answer.toolCalls());
        for (int i = 0; i < calls.size(); i++) {
          calls.getJsonObject(i).put("index", i);
        }
        pieces.add(event(chunk(id, model, new JsonObject().put("tool_calls", calls), null, includeUsage)));
      }
    }
    String head = event(chunk(id, model, new JsonObject().put("role", "assistant").put("content", ""), null, includeUsage));
    StringBuilder tail = new StringBuilder(event(chunk(id, model, new JsonObject(), answer.finishReason(), includeUsage)));
    if (includeUsage) {
      tail.append(event(new JsonObject().put("id", id).put("object", "chat.completion.chunk")
        .put("created", System.currentTimeMillis() / 1000).put("model", model).put("choices", new JsonArray())
        .put("usage", usage)));
    }
    tail.append("data: [DONE]\n\n");
    mock.answer(ctx, stream, whole, head, pieces, tail.toString());
  }

  /** The batch API's check of one line: null when valid, else OpenAI's message. */
  String validate(JsonObject body) {
    Invalid invalid = body == null ? new Invalid("body is required", null, null) : check(body);
    return invalid == null ? null : invalid.message();
  }

  /** The batch API's answer to one valid line. */
  JsonObject completionOf(JsonObject body) {
    String model = body.getString("model");
    boolean reasoning = OpenAiModels.reasoning(model);
    int max = maxTokens(body);
    SimProvider.Answer a = answer(body, max, reasoning);
    long r = reasoning ? REASONING_TOKENS : 0;
    return completion("chatcmpl-mock" + Long.toHexString(System.nanoTime()), model, a,
      usage(promptTokens(model, body), 0, a.outputTokens() + r, r));
  }

  private Invalid check(JsonObject body) {
    for (String field : body.fieldNames()) {
      if (!FIELDS.contains(field)) {
        return new Invalid("Unrecognized request argument supplied: " + field, null, null);
      }
    }
    if (!(body.getValue("model") instanceof String model) || model.isEmpty()) {
      return new Invalid("you must provide a model parameter", "model", null);
    }
    if (!(body.getValue("messages") instanceof JsonArray messages) || messages.isEmpty()) {
      return new Invalid("'messages' must contain at least one message", "messages", null);
    }
    boolean reasoning = OpenAiModels.reasoning(model);
    if (reasoning && body.containsKey("max_tokens")) {
      return new Invalid("Unsupported parameter: 'max_tokens' is not supported with this model. "
        + "Use 'max_completion_tokens' instead.", "max_tokens", "unsupported_parameter");
    }
    if (reasoning && body.containsKey("stop")) {
      return new Invalid("Unsupported parameter: 'stop' is not supported with this model.", "stop",
        "unsupported_parameter");
    }
    if (reasoning && body.getValue("temperature") instanceof Number t && t.doubleValue() != 1) {
      return new Invalid("Unsupported value: 'temperature' does not support " + t + " with this model. "
        + "Only the default (1) value is supported.", "temperature", "unsupported_value");
    }
    for (String f : List.of("max_tokens", "max_completion_tokens")) {
      Object v = body.getValue(f);
      if (v != null && !(v instanceof Number n && n.longValue() >= 1 && n.doubleValue() == Math.rint(n.doubleValue()))) {
        return new Invalid("Invalid '" + f + "': integer below minimum value. Expected a value >= 1.", f,
          "integer_below_min_value");
      }
    }
    if (body.containsKey("stream_options") && !Boolean.TRUE.equals(body.getValue("stream"))) {
      return new Invalid("The 'stream_options' parameter is only allowed when 'stream' is enabled.", "stream_options",
        null);
    }
    Object n = body.getValue("n");
    if (n != null && !(n instanceof Number num && num.intValue() == 1)) {
      return new Invalid("this stand-in answers n=1 only", "n", null);
    }
    Object stop = body.getValue("stop");
    if (stop instanceof JsonArray a && a.size() > 4) {
      return new Invalid("Invalid 'stop': array too long. Expected an array with maximum length 4.", "stop",
        "array_above_max_length");
    }
    JsonArray tools = body.getJsonArray("tools", new JsonArray());
    Set<String> names = new HashSet<>();
    for (int i = 0; i < tools.size(); i++) {
      JsonObject fn = tools.getJsonObject(i).getJsonObject("function", new JsonObject());
      String name = fn.getString("name", "");
      if (!TOOL_NAME.matcher(name).matches()) {
        return new Invalid("Invalid 'tools[" + i + "].function.name': string does not match pattern. Expected a string "
          + "that matches the pattern '^[a-zA-Z0-9_-]+$'.", "tools[" + i + "].function.name", "invalid_value");
      }
      names.add(name);
    }
    Invalid choice = checkToolChoice(body.getValue("tool_choice"), names, tools.isEmpty());
    return choice != null ? choice : checkMessages(messages);
  }

  /** {@code tool_choice}: only with tools; none, auto, required, or a function of {@code tools} by name. */
  private static Invalid checkToolChoice(Object choice, Set<String> names, boolean noTools) {
    if (choice == null) {
      return null;
    }
    if (noTools) {
      return new Invalid("Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.",
        "tool_choice", null);
    }
    if (choice instanceof String s) {
      return Set.of("none", "auto", "required").contains(s) ? null : new Invalid("Invalid value: '" + s
        + "'. Supported values are: 'none', 'auto', and 'required'.", "tool_choice", "invalid_value");
    }
    if (!(choice instanceof JsonObject o) || !"function".equals(o.getValue("type"))
      || !(o.getValue("function") instanceof JsonObject fn) || !(fn.getValue("name") instanceof String name)) {
      return new Invalid("Invalid value for 'tool_choice': expected 'none', 'auto', 'required' or "
        + "{\"type\": \"function\", \"function\": {\"name\"}}.", "tool_choice", "invalid_value");
    }
    return names.contains(name) ? null : new Invalid("Invalid value for 'tool_choice': function '" + name
      + "' is not one of the functions in 'tools'.", "tool_choice", "invalid_value");
  }

  /** Roles, contents, and tool messages that answer the tool calls just before them, each exactly once. */
  private static Invalid checkMessages(JsonArray messages) {
    Set<String> open = new HashSet<>();
    for (int i = 0; i < messages.size(); i++) {
      if (!(messages.getValue(i) instanceof JsonObject m)) {
        return new Invalid("Invalid type for 'messages[" + i + "]': expected an object.", "messages[" + i + "]", null);
      }
      String role = m.getValue("role") instanceof String r ? r : "";
      if (!Set.of("system", "developer", "user", "assistant", "tool").contains(role)) {
        return new Invalid("Invalid value: '" + role + "'. Supported values are: 'system', 'developer', 'user', "
          + "'assistant' and 'tool'.", "messages[" + i + "].role", "invalid_value");
      }
      if (!role.equals("tool") && !open.isEmpty()) {
        return new Invalid("An assistant message with 'tool_calls' must be followed by tool messages responding to "
          + "each 'tool_call_id'. The following tool_call_ids did not have response messages: " + String.join(", ", open),
          "messages.[" + i + "].role", null);
      }
      switch (role) {
        case "tool" -> {
          String id = m.getString("tool_call_id");
          if (id == null || !open.remove(id)) {
            return new Invalid("Invalid parameter: messages with role 'tool' must be a response to a preceeding "
              + "message with 'tool_calls'.", "messages.[" + i + "].role", null);
          }
          if (!(m.getValue("content") instanceof String) && !(m.getValue("content") instanceof JsonArray)) {
            return new Invalid("Invalid value for 'content': expected a string, got null.", "messages.[" + i
              + "].content", null);
          }
        }
        case "assistant" -> {
          JsonArray calls = m.getJsonArray("tool_calls");
          if (calls != null) {
            for (int j = 0; j < calls.size(); j++) {
              open.add(calls.getJsonObject(j).getString("id"));
            }
          } else if (m.getValue("content") == null) {
            return new Invalid("Invalid value for 'content': expected a string, got null.", "messages.[" + i
              + "].content", null);
          }
        }
        default -> {
          Object content = m.getValue("content");
          if (!(content instanceof String) && !(content instanceof JsonArray)) {
            return new Invalid("Invalid value for 'content': expected a string, got null.", "messages.[" + i
              + "].content", null);
          }
        }
      }
    }
    if (!open.isEmpty()) {
      return new Invalid("An assistant message with 'tool_calls' must be followed by tool messages responding to "
        + "each 'tool_call_id'. The following tool_call_ids did not have response messages: " + String.join(", ", open),
        "messages", null);
    }
    return null;
  }

  private static int maxTokens(JsonObject body) {
    Object v = body.getValue("max_completion_tokens", body.getValue("max_tokens"));
    return v instanceof Number n ? n.intValue() : DEFAULT_MAX;
  }

  /** Prompt tokens as OpenAI counts them: its tokenizer where the model has one, three tokens of framing a message. */
  private long promptTokens(String model, JsonObject body) {
    TokenCounter counter = OpenAiModels.tokenizerOrEstimate(model);
    JsonArray flat = plain(body.getJsonArray("messages"));
    long total = 3;
    for (int i = 0; i < flat.size(); i++) {
      total += tokens(counter, flat.getJsonObject(i));
    }
    JsonArray tools = body.getJsonArray("tools");
    return total + (tools == null ? 0 : counter.count(tools.encode()));
  }

  /** Messages with array contents flattened to their text, as the tokenizer sees them. */
  private static JsonArray plain(JsonArray messages) {
    JsonArray out = new JsonArray();
    for (int i = 0; i < messages.size(); i++) {
      JsonObject m = messages.getJsonObject(i).copy();
      if (m.getValue("content") instanceof JsonArray parts) {
        StringBuilder sb = new StringBuilder();
        parts.forEach(p -> sb.append(p instanceof JsonObject o ? o.getString("text", "") : ""));
        m.put("content", sb.toString());
      }
      out.add(m);
    }
    return out;
  }

  /** OpenAI caches prompts of 1,024 tokens and more, in steps of 128, by their exact prefix. */
  private long cachedTokens(JsonObject body, long prompt) {
    JsonArray flat = plain(body.getJsonArray("messages"));
    TokenCounter counter = OpenAiModels.tokenizerOrEstimate(body.getString("model"));
    String[] hashes = new String[flat.size()];
    long[] tokens = new long[flat.size()];
    // one digest over the growing prefix, read out after each message: linear in the prompt
    MessageDigest digest = MockLlm.digest();
    digest.update((body.getString("model") + body.getJsonArray("tools", new JsonArray()).encode())
      .getBytes(StandardCharsets.UTF_8));
    long count = 3;
    for (int i = 0; i < flat.size(); i++) {
      digest.update(("\u0000" + flat.getJsonObject(i).encode()).getBytes(StandardCharsets.UTF_8));
      count += tokens(counter, flat.getJsonObject(i));
      hashes[i] = MockLlm.hexOf(digest);
      tokens[i] = Math.min(count, prompt);
    }
    long read = mock.promptCache.readAndRemember(hashes, tokens);
    return read < MockPromptCache.MIN_TOKENS ? 0 : read / 128 * 128;
  }

  private SimProvider.Answer answer(JsonObject body, int max, boolean reasoning) {
    JsonArray messages = plain(body.getJsonArray("messages"));
    // the sim reads OpenAI's shapes; tool names come back as the client sent them
    List<String> stop = new ArrayList<>();
    Object s = body.getValue("stop");
    if (s instanceof String str) {
      stop.add(str);
    } else if (s instanceof JsonArray a) {
      a.forEach(o -> stop.add(String.valueOf(o)));
    }
    int visible = reasoning ? Math.max(1, max - REASONING_TOKENS) : max;
    return mock.sim.complete(body.getString("model"), messages, body.getJsonArray("tools", new JsonArray()), visible, stop,
      ToolChoice.fromJson(body.getValue("tool_choice")));
  }

  private static JsonObject usage(long prompt, long cached, long completion, long reasoning) {
    return new JsonObject().put("prompt_tokens", prompt).put("completion_tokens", completion)
      .put("total_tokens", prompt + completion)
      .put("prompt_tokens_details", new JsonObject().put("cached_tokens", cached).put("audio_tokens", 0))
      .put("completion_tokens_details", new JsonObject().put("reasoning_tokens", reasoning).put("audio_tokens", 0)
        .put("accepted_prediction_tokens", 0).put("rejected_prediction_tokens", 0));
  }

  private static JsonObject completion(String id, String model, SimProvider.Answer a, JsonObject usage) {
    JsonObject message = new JsonObject().put("role", "assistant").putNull("refusal");
    if (a.toolCalls().isEmpty()) {
      message.put("content", a.content());
    } else {
      message.putNull("content").put("tool_calls", MockLlm.openAiCalls(a.toolCalls()));
    }
    return new JsonObject().put("id", id).put("object", "chat.completion")
      .put("created", System.currentTimeMillis() / 1000).put("model", model)
      .put("choices", new JsonArray().add(new JsonObject().put("index", 0).put("message", message)
        .putNull("logprobs").put("finish_reason", a.finishReason())))
      .put("usage", usage).put("system_fingerprint", "fp_mock");
  }

  private static JsonObject chunk(String id, String model, JsonObject delta, String finish, boolean usageNull) {
    JsonObject choice = new JsonObject().put("index", 0).put("delta", delta).putNull("logprobs");
    if (finish == null) {
      choice.putNull("finish_reason");
    } else {
      choice.put("finish_reason", finish);
    }
    JsonObject chunk = new JsonObject().put("id", id).put("object", "chat.completion.chunk")
      .put("created", System.currentTimeMillis() / 1000).put("model", model).put("choices", new JsonArray().add(choice));
    if (usageNull) {
      chunk.putNull("usage");
    }
    return chunk;
  }

  private static String event(JsonObject data) {
    return "data: " + data.encode() + "\n\n";
  }

  static void error(HttpServerResponse r, int status, String type, String message, String param, String code) {
    r.setStatusCode(status).putHeader("Content-Type", "application/json")
      .end(new JsonObject().put("error", new JsonObject().put("message", message).put("type", type).put("param", param)
        .put("code", code)).encode());
  }
}
