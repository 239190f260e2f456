package dev.agenthub.agents;

import io.vertx.core.json.JsonObject;

/**
 * One user message to an agent instance (gateway to {@code agent.<id>.<instance>}) and its answer.
 * Failures come back as event-bus failures whose code is the HTTP status the gateway should answer
 * (see {@link Failure}).
 */
public final class Turn {

  private Turn() {
  }

  /** Event-bus address of one agent instance. */
  public static String address(String agent, String instance) {
    return "agent." + agent + "." + instance;
  }

  /** Failure codes of a turn: the HTTP status that describes them. */
  public static final class Failure {
    public static final int BAD_REQUEST = 400;
    public static final int QUEUE_FULL = 429;
    public static final int MODEL_ERROR = 502;
    public static final int UNAVAILABLE = 503;
    public static final int MODEL_TIMEOUT = 504;

    private Failure() {
    }
  }

  /**
   * @param session        session id (validated by the gateway)
   * @param text           the user's message
   * @param idempotencyKey optional client key for retries
   * @param priority       {@code interactive} or {@code batch}
   * @param hint           {@code routine}, {@code complex} or null: which model the caller wants
   * @param depth          how many {@code agent.delegate} hops led here (0 for a user's message)
   */
  public record Request(String session, String text, String idempotencyKey, String priority, String hint, int depth) {

    public Request(String session, String text, String idempotencyKey, String priority) {
      this(session, text, idempotencyKey, priority, null, 0);
    }

    public JsonObject toJson() {
      JsonObject json = new JsonObject().put("session", session).put("text", text).put("priority", priority)
        .put("depth", depth);
      if (idempotencyKey != null) {
        json.put("idempotency_key", idempotencyKey);
      }
      if (hint != null) {
        json.put("hint", hint);
      }
      return json;
    }

    public static Request fromJson(JsonObject json) {
      return new Request(json.getString("session"), json.getString("text"),
        json.getString("idempotency_key"), json.getString("priority", "interactive"), json.getString("hint"),
        json.getInteger("depth", 0));
    }
  }

  /**
   * Local address on every node where an agent asks another agent ({@code agent.delegate}): body
   * {@code {agent, session, text, depth}}, answered with the other agent's {@link Reply}. The hub
   * routes it like a user's message, so the target may run on any node.
   */
  public static final String DELEGATE_ADDRESS = "hub.delegate";

  /** The answer, in the shape of the HTTP contract's 200 body. */
  public record Reply(String agent, String session, String instance, String node, String reply, String model,
                      long inputTokens, long outputTokens, double costUsd, boolean cached) {

    public JsonObject toJson() {
      return new JsonObject()
        .put("agent", agent).put("session", session).put("instance", instance).put("node", node)
        .put("reply", reply).put("model", model)
        .put("usage", new JsonObject().put("input_tokens", inputTokens).put("output_tokens", outputTokens))
        .put("cost_usd", costUsd).put("cached", cached);
    }

    public static Reply fromJson(JsonObject json) {
      JsonObject usage = json.getJsonObject("usage", new JsonObject());
      return new Reply(json.getString("agent"), json.getString("session"), json.getString("instance"),
        json.getString("node"), json.getString("reply"), json.getString("model"),
        usage.getLong("input_tokens", 0L), usage.getLong("output_tokens", 0L),
        json.getDouble("cost_usd", 0.0), json.getBoolean("cached", false));
    }
  }
}
