package dev.agenthub.hub.gateway;

import dev.agenthub.agents.Turn;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

import java.util.UUID;

/**
 * {@code POST /v1/chat/completions}, the OpenAI Chat Completions shape over agents: {@code model}
 * names the agent, the session is {@code user}, else header {@code X-Session-Id}, else a new one.
 * The agent keeps the conversation itself, so the turn's text is the last user message. With
 * {@code stream: true} the answer goes out as server-sent events: content chunks, a final chunk with
 * {@code finish_reason} and {@code usage}, then {@code data: [DONE]}.
 */
final class ChatCompletions {

  private static final int WORDS_PER_CHUNK = 4;

  private final GatewayContext gw;
  private final TurnDispatcher dispatcher;
  private final ClientAuth auth;

  ChatCompletions(GatewayContext gw, TurnDispatcher dispatcher, ClientAuth auth) {
    this.gw = gw;
    this.dispatcher = dispatcher;
    this.auth = auth;
  }

  void handle(RoutingContext ctx) {
    long started = System.nanoTime();
    auth.checkAgent(ctx.request().getHeader("Authorization"), null);
    JsonObject json = Requests.jsonBody(ctx.body().buffer());
    String model = Requests.requiredString(json, "model");
    String agent = model.startsWith("agent:") ? model.substring("agent:".length()) : model;
    if (gw.config().agent(agent).isEmpty()) {
      gw.metrics().refused("unknown_agent");
      throw new ApiError(404, "not_found", "unknown agent '" + agent + "' (the model field names the agent)");
    }
    auth.checkAgent(ctx.request().getHeader("Authorization"), agent);
    String text = lastUserText(json.getValue("messages"));
    String session = Requests.optionalString(json, "user");
    String field = "user";
    if (session == null) {
      session = ctx.request().getHeader("X-Session-Id");
      field = "X-Session-Id";
    }
    if (session == null) {
      session = "chat-" + UUID.randomUUID();
    }
    Requests.session(session, field);
    Object stream = json.getValue("stream");
    if (stream != null && !(stream instanceof Boolean)) {
      throw ApiError.badRequest("'stream' must be true or false");
    }
    boolean streaming = Boolean.TRUE.equals(stream);
    String sessionId = session;
    dispatcher.dispatch(agent, new Turn.Request(session, text, null, "interactive"))
      .onSuccess(body -> {
        gw.metrics().message(agent, "ok", System.nanoTime() - started);
        Turn.Reply reply = Turn.Reply.fromJson(body);
        String id = "chatcmpl-" + UUID.randomUUID().toString().replace("-", "");
        long created = System.currentTimeMillis() / 1000;
        ctx.response().putHeader("X-Session-Id", sessionId);
        if (streaming) {
          stream(ctx.response(), id, created, model, reply);
        } else {
          GatewayVerticle.json(ctx, 200, completion(id, created, model, reply));
        }
      })
      .onFailure(err -> {
        gw.metrics().message(agent, GatewayVerticle.outcome(err), System.nanoTime() - started);
        ctx.fail(err);
      });
  }

  private static String lastUserText(Object messages) {
    if (!(messages instanceof JsonArray array) || array.isEmpty()) {
      throw ApiError.badRequest("'messages' must be a non-empty array");
    }
    for (int i = array.size() - 1; i >= 0; i--) {
      if (!(array.getValue(i) instanceof JsonObject message)) {
        throw ApiError.badRequest("'messages[" + i + "]' must be an object");
      }
      if ("user".equals(message.getValue("role"))) {
        String text = contentText(message.getValue("content"), i);
        if (text.isBlank()) {
          throw ApiError.badRequest("'messages[" + i + "].content' must not be empty");
        }
        return text;
      }
    }
    throw ApiError.badRequest("'messages' must contain a message with role 'user'");
  }

  /** Content is a string or an array of parts, of which the text parts count. */
  private static String contentText(Object content, int i) {
    if (content instanceof String s) {
      return s;
    }
    if (content instanceof JsonArray parts) {
      StringBuilder sb = new StringBuilder();
      for (Object part : parts) {
        if (part instanceof JsonObject p && "text".equals(p.getValue("type")) && p.getValue("text") instanceof String t) {
          sb.append(sb.isEmpty() ? "" : "\n").append(t);
        }
      }
      return sb.toString();
    }
    throw ApiError.badRequest("'messages[" + i + "].content' must be a string or an array of parts");
  }

  private static JsonObject usage(Turn.Reply reply) {
    return new JsonObject().put("prompt_tokens", reply.inputTokens()).put("completion_tokens", reply.outputTokens())
      .put("total_tokens", reply.inputTokens() + reply.outputTokens());
  }

  private static JsonObject agenthub(Turn.Reply reply) {
    return new JsonObject().put("agent", reply.agent()).put("session", reply.session())
      .put("instance", reply.instance()).put("node", reply.node()).put("model", reply.model())
      .put("cost_usd", reply.costUsd()).put("cached", reply.cached());
  }

  private static JsonObject completion(String id, long created, String model, Turn.Reply reply) {
    JsonObject message = new JsonObject().put("role", "assistant").put("content", reply.reply()).putNull("refusal");
    return new JsonObject()
      .put("id", id).put("object", "chat.completion").put("created", created).put("model", model)
      .put("choices", new JsonArray().add(new JsonObject().put("index", 0).put("message", message)
        .putNull("logprobs").put("finish_reason", "stop")))
      .put("usage", usage(reply))
      .put("agenthub", agenthub(reply));
  }

  private static void stream(HttpServerResponse response, String id, long created, String model, Turn.Reply reply) {
    response.setStatusCode(200).setChunked(true)
      .putHeader("Content-Type", "text/event-stream")
      .putHeader("Cache-Control", "no-cache");
    String[] words = reply.reply().split("(?<= )");
    StringBuilder piece = new StringBuilder();
    boolean first = true;
    for (int i = 0; i < words.length; i++) {
      piece.append(words[i]);
      if ((i + 1) % WORDS_PER_CHUNK == 0 || i == words.length - 1) {
        JsonObject delta = new JsonObject().put("content", piece.toString());
        if (first) {
          delta.put("role", "assistant");
          first = false;
        }
        response.write(event(chunk(id, created, model, delta, null)));
        piece.setLength(0);
      }
    }
    JsonObject last = chunk(id, created, model, new JsonObject(), "stop")
      .put("usage", usage(reply)).put("agenthub", agenthub(reply));
    response.write(event(last));
    response.end("data: [DONE]\n\n");
  }

  private static JsonObject chunk(String id, long created, String model, JsonObject delta, String finishReason) {
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
