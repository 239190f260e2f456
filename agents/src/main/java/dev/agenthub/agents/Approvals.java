package dev.agenthub.agents;

import dev.agenthub.protocol.Approval;
import dev.agenthub.protocol.Turn;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.shareddata.AsyncMap;

import java.util.UUID;

/**
 * Where an agent's turns wait for a person: a tool under {@code approve} pauses the turn before the
 * call ({@link Paused}); the pause is kept in the cluster's map of pending approvals (a sensitive
 * agent's in its node's own map) with everything the turn needs to go on, on whichever instance
 * owns the session when the decision comes. Plain: {@link TurnRunner} drives it.
 */
final class Approvals {

  /** Kept in the map this much longer than their time, so a node that sweeps late still finds them. */
  static final long GRACE_MS = 3_600_000;
  /** The pending turn's client tools (offered again when it goes on) and the client's calls of the paused step. */
  static final String CLIENT_TOOLS = "client_tools";
  static final String CLIENT_CALLS = "client_calls";

  /** A turn stopped before a tool call that waits for approval. */
  static final class Paused extends RuntimeException {
    final JsonObject toolCall;
    final JsonArray later;
    final JsonArray messages;
    final long timeoutMs;
    final int step;
    /** The client's own calls of the paused step: the turn ends with them once the agent's are done (or null). */
    final JsonArray clientCalls;

    Paused(JsonObject toolCall, JsonArray later, JsonArray messages, long timeoutMs, int step) {
      this(toolCall, later, messages, timeoutMs, step, null);
    }

    private Paused(JsonObject toolCall, JsonArray later, JsonArray messages, long timeoutMs, int step,
                   JsonArray clientCalls) {
      super("waits for approval", null, false, false);
      this.toolCall = toolCall;
      this.later = later;
      this.messages = messages;
      this.timeoutMs = timeoutMs;
      this.step = step;
      this.clientCalls = clientCalls;
    }

    Paused withClientCalls(JsonArray calls) {
      return new Paused(toolCall, later, messages, timeoutMs, step, calls);
    }
  }

  private final Vertx vertx;
  private final AgentSpec spec;

  Approvals(Vertx vertx, AgentSpec spec) {
    this.vertx = vertx;
    this.spec = spec;
  }

  /**
   * Keeps the pause where a decision finds it; answers the pending approval. {@code clientTools}: the
   * client's own tools of the turn (null: none), offered again when it goes on.
   */
  Future<JsonObject> keep(Turn.Request request, Paused p, String route, JsonObject arguments, JsonArray clientTools) {
    String id = "apv-" + UUID.randomUUID();
    JsonObject pending = Approval.pending(id, spec.id(), request.session(), request.client(),
      p.toolCall.getString("name"), arguments, p.toolCall.getString("id"), p.messages, p.later, p.step,
      System.currentTimeMillis() + p.timeoutMs).put("route", route);
    if (request.conversation() != null) {
      pending.put("stateless", true);
    }
    if (clientTools != null) {
      pending.put(CLIENT_TOOLS, clientTools);
    }
    if (p.clientCalls != null) {
      pending.put(CLIENT_CALLS, p.clientCalls);
    }
    return map().compose(map -> map.put(id, pending, p.timeoutMs + GRACE_MS)).map(v -> pending);
  }

  private Future<AsyncMap<String, JsonObject>> map() {
    // a sensitive agent's context never enters a cluster-wide map (it would cross the network)
    return spec.sensitive() ? vertx.sharedData().getLocalAsyncMap(Approval.LOCAL_MAP)
      : vertx.sharedData().getAsyncMap(Approval.MAP);
  }

  /** What a decision makes of the call: null to run it, else the tool result the model reads instead. */
  static String instead(String decision) {
    return switch (decision) {
      case Approval.APPROVE -> null;
      case Approval.EXPIRED -> "error: nobody approved this call within its time; it was not made";
      default -> "error: a person denied this call; it was not made";
    };
  }
}
