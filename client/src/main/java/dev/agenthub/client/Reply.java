package dev.agenthub.client;

import io.vertx.core.json.JsonObject;

/**
 * An agent's answer: the same object the HTTP API answers {@code POST /v1/agents/{agent}/messages}
 * with ({@link #json()} has every field).
 */
public record Reply(String agent, String session, String text, String model, long inputTokens, long outputTokens,
                    double costUsd, String finishReason, JsonObject json) {

  public static Reply fromJson(JsonObject json) {
    JsonObject usage = json.getJsonObject("usage", new JsonObject());
    Number cost = json.getNumber("cost_usd", 0);
    return new Reply(json.getString("agent"), json.getString("session"), json.getString("reply"),
      json.getString("model"), usage.getLong("input_tokens", 0L), usage.getLong("output_tokens", 0L),
      cost.doubleValue(), json.getString("finish_reason"), json);
  }
}
