package dev.agenthub.hub.gateway;

import dev.agenthub.agents.AgentSpec;
import dev.agenthub.protocol.Failure;
import dev.agenthub.protocol.ToolChoice;
import dev.agenthub.protocol.Turn;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;

/**
 * The OpenAI-compatible surface: {@code POST /v1/chat/completions} over agents ({@code model} names
 * the agent) and {@code GET /v1/models}. With a session ({@code user}, else header {@code
 * X-Session-Id}) the agent keeps the conversation: its transcript is authoritative and the last user
 * message is the new turn. Without one the request is stateless: its {@code messages} are the
 * conversation (system messages after the agent's own context, then the history, trimmed to the
 * agent's {@code context-tokens}) and nothing is kept. {@code max_tokens}/{@code max_completion_tokens}
 * and {@code stop} are honoured within the agent's limits; what the hub cannot do ({@code n} > 1,
 * non-text output, audio, log probabilities, unknown fields) is refused with 400 and the field named,
 * never ignored. Sampling fields ({@code temperature}, {@code top_p}, ...) are checked (type and range,
 * as OpenAI does) and left to the agent's configuration. With {@code stream: true} the answer goes out
 * as it is generated.
 *
 * <p>The client's own {@code tools} (and {@code tool_choice}) are offered to the model next to the
 * agent's; a call of one ends the turn with {@code finish_reason: "tool_calls"} and the calls, and the
 * client's next request brings the results as {@code tool} messages at the end of its messages: the
 * turn goes on from them, in the request's conversation or in the session's transcript.
 */
final class ChatCompletions {

  /** Fields the hub takes, or accepts and leaves to the agent (sampling, tracking). */
  private static final Set<String> KNOWN = Set.of("model", "messages", "stream", "stream_options", "user",
    "max_tokens", "max_completion_tokens", "stop", "n", "tools", "tool_choice", "parallel_tool_calls",
    "response_format", "modalities", "temperature", "top_p", "presence_penalty", "frequency_penalty", "seed",
    "logit_bias", "logprobs", "top_logprobs", "metadata", "store", "reasoning_effort", "service_tier",
    "prompt_cache_key", "safety_identifier", "verbosity");
  private static final int MAX_STOP = 4;

  private final GatewayContext gw;
  private final TurnIntake intake;
  private final ClientAuth auth;
  private final StreamRelay relay;
  private final long created = System.currentTimeMillis() / 1000;

  ChatCompletions(GatewayContext gw, StreamRelay relay) {
    this.gw = gw;
    this.intake = gw.intake();
    this.auth = gw.intake().auth();
    this.relay = relay;
  }

  /** {@code GET /v1/models}: the agents this caller may use, as models. */
  void models(RoutingContext ctx) {
    String authorization = ctx.request().getHeader("Authorization");
    auth.checkAgent(authorization, null);
    JsonArray data = new JsonArray();
    for (AgentSpec spec : gw.config().agents()) {
      if (auth.mayUse(authorization, spec.id())) {
        data.add(model(spec));
      }
    }
    Replies.json(ctx, 200, new JsonObject().put("object", "list").put("data", data));
  }

  /** {@code GET /v1/models/{id}}: one agent ({@code support} or {@code agent:support}), or 404. */
  void model(RoutingContext ctx) {
    String authorization = ctx.request().getHeader("Authorization");
    auth.checkAgent(authorization, null);
    String id = ctx.pathParam("id");
    String agent = id.startsWith("agent:") ? id.substring("agent:".length()) : id;
    AgentSpec spec = gw.config().agent(agent).filter(a -> auth.mayUse(authorization, a.id())).orElseThrow(() ->
      new Failure(Failure.Kind.MODEL_NOT_FOUND, "The model '" + id + "' does not exist", "model", null));
    Replies.json(ctx, 200, model(spec));
  }

  private JsonObject model(AgentSpec spec) {
    return new JsonObject().put("id", spec.id()).put("object", "model").put("created", created)
      .put("owned_by", "agenthub");
  }

  /** Before the body is read: a token that talks to agents (the agent is named in the body). */
  void admit(RoutingContext ctx) {
    auth.checkAgent(ctx.request().getHeader("Authorization"), null);
    ctx.next();
  }

  /** After {@link #admit} and the body. */
  void handle(RoutingContext ctx) {
    long started = System.nanoTime();
    JsonObject json = Requests.jsonBody(ctx.body().buffer());
    for (String field : json.fieldNames()) {
      if (!KNOWN.contains(field)) {
        throw Failure.unsupported(field, "Unrecognized request argument supplied: " + field);
      }
    }
    String model = Requests.requiredString(json, "model");
    String agent = model.startsWith("agent:") ? model.substring("agent:".length()) : model;
    String client = intake.admit(ctx.request().getHeader("Authorization"), agent, () -> new Failure(
      Failure.Kind.MODEL_NOT_FOUND, "unknown agent '" + agent + "' (the model field names the agent)", "model", null));
    checkTypesAndRanges(json);
    refuseUnsupported(json);
    JsonArray tools = ChatTools.tools(json.getValue("tools"));
    ToolChoice toolChoice = ChatTools.choice(json.getValue("tool_choice"), tools);
    JsonArray messages = ChatMessages.read(json.getValue("messages"));
    String session = Requests.optionalString(json, "user");
    String field = "user";
    if (session == null) {
      session = ctx.request().getHeader("X-Session-Id");
      field = "X-Session-Id";
    }
    boolean stateless = session == null;
    if (stateless) {
      session = "chat-" + UUID.randomUUID();
    }
    Requests.session(session, field);
    boolean streaming = Requests.optionalBoolean(json, "stream");
    if (json.containsKey("stream_options") && !streaming) {
      throw Failure.badParam("stream_options", "The 'stream_options' parameter is only allowed when 'stream' is enabled.");
    }
    int maxTokens = maxTokens(json);
    List<String> stop = stop(json.getValue("stop"));
    // the tool messages at the end are the client's results: the new turn goes on from them
    int results = ChatMessages.results(messages);
    JsonArray toolResults = results < messages.size() ? ChatMessages.results(messages, results) : null;
    String text = "";
    JsonArray conversation = null;
    if (stateless) {
      ChatMessages.checkToolOrder(messages);
      int end = toolResults != null ? results : messages.size() - 1;
      if (toolResults == null) {
        JsonObject last = messages.getJsonObject(end);
        if (!"user".equals(last.getString("role"))) {
          throw Failure.badParam("messages", "the last message must have role 'user' or 'tool' (it is the new turn)");
        }
        text = last.getString("content");
      }
      conversation = new JsonArray();
      for (int i = 0; i < end; i++) {
        conversation.add(messages.getJsonObject(i));
      }
    } else if (toolResults == null) {
      text = ChatMessages.lastUserText(messages);
    }
    if (toolResults == null && text.isBlank()) {
      throw Failure.badParam("messages", "the last user message must not be empty");
    }
    Turn.Request request = Turn.Request.of(session, text).maxTokens(maxTokens).stop(stop).conversation(conversation)
      .client(client).tools(tools).toolChoice(toolChoice).toolResults(toolResults).build().withGatewayKey();
    String sessionId = stateless ? null : session;
    String id = "chatcmpl-" + UUID.randomUUID().toString().replace("-", "");
    long created = System.currentTimeMillis() / 1000;
    if (sessionId != null) {
      ctx.response().putHeader("X-Session-Id", sessionId);
    }
    if (streaming) {
      boolean includeUsage = json.getJsonObject("stream_options", new JsonObject()).getValue("include_usage") == Boolean.TRUE;
      TurnStream stream = new TurnStream(ctx, relay, new ChunkFormat(id, created, model, includeUsage));
      Turn.Request streamed = request.toBuilder().stream(stream.stream()).build();
      stream.onClientGone(() -> intake.cancel(streamed));
      stream.follow(intake.dispatch(agent, streamed), gw, agent, started);
      return;
    }
    intake.dispatch(agent, request)
      .onSuccess(body -> {
        gw.metrics().message(agent, "ok", System.nanoTime() - started);
        // a turn that waits for a person's approval answers 202 with what waits, as the native API does
        Replies.json(ctx, Replies.status(body), Replies.status(body) == 202 ? body
          : completion(id, created, model, Turn.Reply.fromJson(body)));
      })
      .onFailure(err -> {
        gw.metrics().message(agent, Replies.outcome(err), System.nanoTime() - started);
        ctx.fail(err);
      });
  }

  /**
   * The fields the hub accepts and leaves to the agent are still checked as OpenAI checks them: a
   * wrong type or a number out of range is a 400 naming the field, never silently passed on.
   */
  private static void checkTypesAndRanges(JsonObject json) {
    Requests.optionalDecimal(json, "temperature", 0, 2);
    Requests.optionalDecimal(json, "top_p", 0, 1);
    Requests.optionalDecimal(json, "presence_penalty", -2, 2);
    Requests.optionalDecimal(json, "frequency_penalty", -2, 2);
    Requests.optionalInteger(json, "n", 1, 128);
    Requests.optionalInteger(json, "seed", Long.MIN_VALUE, Long.MAX_VALUE);
    Requests.optionalInteger(json, "top_logprobs", 0, 20);
    for (String field : List.of("logprobs", "parallel_tool_calls", "store")) {
      Requests.optionalBoolean(json, field);
    }
    for (String field : List.of("reasoning_effort", "service_tier", "prompt_cache_key", "safety_identifier",
      "verbosity")) {
      Requests.optionalString(json, field);
    }
    for (String field : List.of("metadata", "stream_options", "logit_bias")) {
      Object v = json.getValue(field);
      if (v != null && !(v instanceof JsonObject)) {
        throw Requests.invalidType(field, "an object", v);
      }
    }
    JsonObject bias = json.getJsonObject("logit_bias");
    if (bias != null) {
      for (String token : bias.fieldNames()) {
        Object b = bias.getValue(token);
        if (!(b instanceof Number n) || n.doubleValue() < -100 || n.doubleValue() > 100) {
          throw Failure.badParam("logit_bias", "Invalid 'logit_bias': each bias must be a number from -100 to 100 "
            + "(token " + token + ")");
        }
      }
    }
  }

  /** The features the hub does not offer, refused by name rather than ignored. */
  private static void refuseUnsupported(JsonObject json) {
    Object n = json.getValue("n");
    if (n != null && !(n instanceof Number num && num.doubleValue() == 1)) {
      throw Failure.unsupported("n", "only n=1 is supported: an agent gives one answer per turn");
    }
    Object format = json.getValue("response_format");
    if (format != null && !(format instanceof JsonObject f && "text".equals(f.getValue("type")))) {
      throw Failure.unsupported("response_format", "only response_format {\"type\":\"text\"} is supported");
    }
    Object modalities = json.getValue("modalities");
    if (modalities != null && !(modalities instanceof JsonArray m && m.stream().allMatch("text"::equals))) {
      throw Failure.unsupported("modalities", "only text output is supported");
    }
    if (Boolean.TRUE.equals(json.getValue("logprobs")) || json.getValue("top_logprobs") != null) {
      throw Failure.unsupported(json.getValue("top_logprobs") != null ? "top_logprobs" : "logprobs",
        "log probabilities are not supported");
    }
  }

  private static int maxTokens(JsonObject json) {
    int max = 0;
    for (String field : List.of("max_tokens", "max_completion_tokens")) {
      Long n = Requests.optionalInteger(json, field, 1, 10_000_000);
      if (n != null) {
        max = max == 0 ? n.intValue() : Math.min(max, n.intValue());
      }
    }
    return max;
  }

  private static List<String> stop(Object value) {
    if (value == null) {
      return List.of();
    }
    List<String> out = new ArrayList<>();
    if (value instanceof String s) {
      out.add(s);
    } else if (value instanceof JsonArray a) {
      for (Object o : a) {
        if (!(o instanceof String s)) {
          throw Failure.badParam("stop", "'stop' must be a string or an array of strings");
        }
        out.add(s);
      }
    } else {
      throw Failure.badParam("stop", "'stop' must be a string or an array of strings");
    }
    if (out.size() > MAX_STOP || out.stream().anyMatch(String::isEmpty)) {
      throw Failure.badParam("stop", "'stop' takes 1-" + MAX_STOP + " non-empty sequences");
    }
    return out;
  }

  static JsonObject usage(Turn.Reply reply) {
    return new JsonObject().put("prompt_tokens", reply.inputTokens()).put("completion_tokens", reply.outputTokens())
      .put("total_tokens", reply.inputTokens() + reply.outputTokens())
      .put("prompt_tokens_details", new JsonObject().put("cached_tokens", reply.usage().cachedInput()))
      .put("completion_tokens_details", new JsonObject().put("reasoning_tokens", reply.usage().reasoning()));
  }

  private static JsonObject agenthub(Turn.Reply reply) {
    JsonObject json = new JsonObject().put("agent", reply.agent()).put("session", reply.session())
      .put("instance", reply.instance()).put("node", reply.node()).put("model", reply.model())
      .put("cost_usd", reply.costUsd()).put("cached", reply.cached());
    if (reply.approval() != null) {
      json.put("approval", reply.approval()); // a streamed turn that waits for a person says for what
    }
    return json;
  }

  /** The hub's finish reasons are already OpenAI's; a cancelled turn never reaches a client. */
  private static String finishReason(Turn.Reply reply) {
    String f = reply.finishReason();
    return f == null || f.equals("cancelled") ? "stop" : f;
  }

  private static boolean callsTools(Turn.Reply reply) {
    return reply.toolCalls() != null && !reply.toolCalls().isEmpty();
  }

  /** The answer; with the client's tool calls, its content is the text so far, or null when there is none. */
  private static JsonObject completion(String id, long created, String model, Turn.Reply reply) {
    JsonObject message = new JsonObject().put("role", "assistant");
    if (callsTools(reply) && (reply.reply() == null || reply.reply().isEmpty())) {
      message.putNull("content");
    } else {
      message.put("content", reply.reply());
    }
    message.putNull("refusal");
    if (callsTools(reply)) {
      message.put("tool_calls", reply.toolCalls());
    }
    return new JsonObject()
      .put("id", id).put("object", "chat.completion").put("created", created).put("model", model)
      .put("choices", new JsonArray().add(new JsonObject().put("index", 0).put("message", message)
        .putNull("logprobs").put("finish_reason", finishReason(reply))))
      .put("usage", usage(reply))
      .put("agenthub", agenthub(reply));
  }

  /**
   * Chat completion chunks: content deltas; the client's tool calls, each as a chunk with its index,
   * id, type and name, then one with its arguments; a last chunk with finish reason and usage; [DONE].
   * With {@code stream_options.include_usage} the usage comes as OpenAI sends it, in a chunk of its own
   * with no choices after the finish reason's (the official SDKs' stream accumulators take nothing else).
   */
  private record ChunkFormat(String id, long created, String model, boolean includeUsage) implements TurnStream.Format {
    @Override
    public String delta(String text, boolean first) {
      JsonObject delta = new JsonObject().put("content", text);
      if (first) {
        delta.put("role", "assistant");
      }
      return event(chunk(delta, null));
    }

    @Override
    public String done(Turn.Reply reply, boolean anyDelta) {
      StringBuilder out = new StringBuilder();
      boolean roleSent = anyDelta;
      JsonArray calls = callsTools(reply) ? reply.toolCalls() : new JsonArray();
      for (int i = 0; i < calls.size(); i++) {
        JsonObject call = calls.getJsonObject(i);
        JsonObject fn = call.getJsonObject("function");
        JsonObject head = new JsonObject().put("tool_calls", new JsonArray().add(new JsonObject().put("index", i)
          .put("id", call.getString("id")).put("type", "function")
          .put("function", new JsonObject().put("name", fn.getString("name")).put("arguments", ""))));
        if (!roleSent) {
          head.put("role", "assistant").putNull("content");
          roleSent = true;
        }
        out.append(event(chunk(head, null)));
        out.append(event(chunk(new JsonObject().put("tool_calls", new JsonArray().add(new JsonObject().put("index", i)
          .put("function", new JsonObject().put("arguments", fn.getString("arguments"))))), null)));
      }
      JsonObject last = chunk(roleSent ? new JsonObject() : new JsonObject().put("role", "assistant").put("content", ""),
        finishReason(reply));
      if (includeUsage) {
        out.append(event(last));
        last = new JsonObject().put("id", id).put("object", "chat.completion.chunk").put("created", created)
          .put("model", model).put("choices", new JsonArray());
      }
      last.put("usage", usage(reply)).put("agenthub", agenthub(reply));
      return out.append(event(last)).append("data: [DONE]\n\n").toString();
    }

    @Override
    public String error(Failure error) {
      return event(error.toJson()) + "data: [DONE]\n\n";
    }

    private JsonObject chunk(JsonObject delta, String finishReason) {
      JsonObject choice = new JsonObject().put("index", 0).put("delta", delta).putNull("logprobs");
      if (finishReason == null) {
        choice.putNull("finish_reason");
      } else {
        choice.put("finish_reason", finishReason);
      }
      return new JsonObject().put("id", id).put("object", "chat.completion.chunk").put("created", created)
        .put("model", model).put("choices", new JsonArray().add(choice));
    }

    private static String event(JsonObject data) {
      return "data: " + data.encode() + "\n\n";
    }
  }
}
