package dev.agenthub.hub.gateway;

import dev.agenthub.agents.Turn;
import dev.agenthub.hub.cluster.ClusterView;
import dev.agenthub.hub.cluster.NodeEntry;
import dev.agenthub.hub.cluster.RendezvousRouter;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.JsonObject;

import java.util.List;
import java.util.function.Supplier;

/**
 * Sends a turn to the instance that owns its session (rendezvous hash over the live instances,
 * anywhere in the cluster). An instance that has no consumer (its node is leaving, or not yet
 * deployed) is skipped for the next one in the session's ranking.
 */
final class TurnDispatcher {

  private final Vertx vertx;
  private final Supplier<ClusterView> view;
  private final long timeoutMs;

  TurnDispatcher(Vertx vertx, Supplier<ClusterView> view, long timeoutMs) {
    this.vertx = vertx;
    this.view = view;
    this.timeoutMs = timeoutMs;
  }

  Future<JsonObject> dispatch(String agent, Turn.Request request) {
    return dispatch(agent, request, timeoutMs);
  }

  Future<JsonObject> dispatch(String agent, Turn.Request request, long timeoutMs) {
    List<NodeEntry.Placement> ranked = RendezvousRouter.rank(request.session(), view.get().instancesOf(agent));
    if (ranked.isEmpty()) {
      return Future.failedFuture(new ApiError(503, "unavailable", "no live instance of agent '" + agent + "'", 1L));
    }
    return attempt(agent, request, ranked, 0, timeoutMs);
  }

  private Future<JsonObject> attempt(String agent, Turn.Request request, List<NodeEntry.Placement> ranked, int i,
                                     long timeoutMs) {
    NodeEntry.Placement target = ranked.get(i);
    // a little longer than the agent's own model timeout, so the agent's 504 wins over ours
    DeliveryOptions options = new DeliveryOptions().setSendTimeout(timeoutMs + 2_000);
    return vertx.eventBus().<JsonObject>request(Turn.address(agent, target.instance()), request.toJson(), options)
      .map(message -> message.body())
      .recover(err -> {
        if (err instanceof ReplyException re && re.failureType() == ReplyFailure.NO_HANDLERS && i + 1 < ranked.size()) {
          return attempt(agent, request, ranked, i + 1, timeoutMs);
        }
        return Future.failedFuture(toApiError(agent, err));
      });
  }

  private static ApiError toApiError(String agent, Throwable err) {
    if (!(err instanceof ReplyException re)) {
      return new ApiError(500, "internal_error", "internal error");
    }
    return switch (re.failureType()) {
      case TIMEOUT -> new ApiError(504, "timeout", "agent '" + agent + "' did not answer in time");
      case NO_HANDLERS -> new ApiError(503, "unavailable", "no live instance of agent '" + agent + "'", 1L);
      case RECIPIENT_FAILURE, ERROR -> switch (re.failureCode()) {
        case Turn.Failure.BAD_REQUEST -> ApiError.badRequest(re.getMessage());
        case Turn.Failure.QUEUE_FULL -> re.getMessage() != null && re.getMessage().startsWith("budget exceeded")
          ? new ApiError(429, "budget_exceeded", re.getMessage(), 3600L)
          : new ApiError(429, "queue_full", "agent '" + agent + "' is busy: " + re.getMessage(), 1L);
        case Turn.Failure.MODEL_TIMEOUT -> new ApiError(504, "model_timeout", re.getMessage());
        case Turn.Failure.UNAVAILABLE -> new ApiError(503, "unavailable", re.getMessage(), 1L);
        default -> new ApiError(502, "model_error", re.getMessage() == null ? "model call failed" : re.getMessage());
      };
    };
  }
}
