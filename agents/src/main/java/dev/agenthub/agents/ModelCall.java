package dev.agenthub.agents;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * The governor's event-bus contract: an agent sends a {@link Request} to {@link #ADDRESS} (a local
 * consumer on every node) and gets a {@link Reply}. Keys and provider details never appear here.
 * Messages and tools use the OpenAI chat shapes: {@code {role, content}} messages (plus
 * {@code tool_calls} on assistant messages and {@code tool_call_id} on tool messages) and
 * {@code {type: function, function: {name, description, parameters}}} tools.
 */
public final class ModelCall {

  /** Local address of the governor on every node. */
  public static final String ADDRESS = "governor.complete";

  private ModelCall() {
  }

  /**
   * @param agent     calling agent id
   * @param model     model key under {@code models:}
   * @param messages  chat messages
   * @param tools     tools the model may call (may be empty)
   * @param maxTokens output token cap
   * @param priority  {@code interactive}, {@code heartbeat} or {@code batch}
   * @param token     the agent's identity token, checked by the governor
   */
  public record Request(String agent, String model, JsonArray messages, JsonArray tools, int maxTokens,
                        String priority, String token) {

    public JsonObject toJson() {
      return new JsonObject().put("agent", agent).put("model", model).put("messages", messages)
        .put("tools", tools == null ? new JsonArray() : tools).put("max_tokens", maxTokens).put("priority", priority)
        .put("agent_token", token);
    }

    public static Request fromJson(JsonObject json) {
      return new Request(json.getString("agent"), json.getString("model"), json.getJsonArray("messages"),
        json.getJsonArray("tools", new JsonArray()), json.getInteger("max_tokens", 1024),
        json.getString("priority", "interactive"), json.getString("agent_token"));
    }
  }

  /**
   * @param content      the model's text (may be empty when it calls tools)
   * @param toolCalls    {@code [{id, name, arguments}]}, arguments a JSON object
   * @param model        model key that answered (may be a fallback)
   * @param inputTokens  prompt tokens
   * @param outputTokens completion tokens
   * @param costUsd      price of this call, from {@code models:}
   * @param cached       answered from the response cache
   * @param latencyMs    time spent at the provider
   * @param keyId        which key answered ({@code <provider>/<key id>}, never the secret; "cache" or "sim")
   */
  public record Reply(String content, JsonArray toolCalls, String model, long inputTokens, long outputTokens,
                      double costUsd, boolean cached, long latencyMs, String keyId) {

    public boolean wantsTools() {
      return toolCalls != null && !toolCalls.isEmpty();
    }

    public JsonObject toJson() {
      return new JsonObject().put("content", content).put("tool_calls", toolCalls == null ? new JsonArray() : toolCalls)
        .put("model", model)
        .put("usage", new JsonObject().put("input_tokens", inputTokens).put("output_tokens", outputTokens))
        .put("cost_usd", costUsd).put("cached", cached).put("latency_ms", latencyMs).put("key_id", keyId);
    }

    public static Reply fromJson(JsonObject json) {
      JsonObject usage = json.getJsonObject("usage", new JsonObject());
      return new Reply(json.getString("content", ""), json.getJsonArray("tool_calls", new JsonArray()),
        json.getString("model"), usage.getLong("input_tokens", 0L), usage.getLong("output_tokens", 0L),
        json.getDouble("cost_usd", 0.0), json.getBoolean("cached", false), json.getLong("latency_ms", 0L),
        json.getString("key_id"));
    }
  }
}
