package dev.agenthub.client;

import dev.agenthub.protocol.Failure;

import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.JsonObject;

/**
 * A message the hub did not answer: the application's edge of the hub's one failure type. Its
 * {@link #failure()} says what went wrong ({@link #kind()}); {@link #status()} is the HTTP status the
 * HTTP API would have answered (400 bad request, 401 unknown token, 403 agent not allowed, 404, 409,
 * 413, 429 rate or budget, 503 no hub or agent available, 504 timeout), {@link #type()} and
 * {@link #code()} the error object's fields. See "Contract: failures" in docs/ARCHITECTURE.md.
 */
public final class AgentHubException extends RuntimeException {

  private final Failure failure;

  public AgentHubException(Failure failure) {
    super(failure.getMessage(), null, false, false);
    this.failure = failure;
  }

  AgentHubException(Failure.Kind kind, String message) {
    this(new Failure(kind, message));
  }

  public Failure failure() {
    return failure;
  }

  public Failure.Kind kind() {
    return failure.kind();
  }

  public int status() {
    return failure.kind().status();
  }

  public String type() {
    return failure.kind().type();
  }

  /** The error's code ({@code budget_exceeded}, {@code queue_full}, ...), or null. */
  public String code() {
    return failure.code();
  }

  /** The request field at fault, or null. */
  public String param() {
    return failure.param();
  }

  /** True when sending the same message again later may succeed (429 except budgets, 503, 504). */
  public boolean retryable() {
    return switch (failure.kind()) {
      case QUEUE_FULL, RATE_LIMITED, UNAVAILABLE, TIMEOUT -> true;
      default -> false;
    };
  }

  /**
   * A hub's answer of failure, as the event-bus API and the bridge's err frames carry it: the HTTP
   * status, and the error object {@code {"error":{"message","type","param","code"}}} as text.
   */
  static AgentHubException answered(int status, String message) {
    int code = status > 0 ? status : 500;
    try {
      JsonObject json = new JsonObject(message);
      JsonObject error = json.getValue("error") instanceof JsonObject e ? e : json;
      Failure.Kind kind = Failure.Kind.of(code, error.getString("type", ""), error.getString("code"));
      return new AgentHubException(new Failure(kind, error.getString("message"), error.getString("param"), null,
        error.getString("code")));
    } catch (RuntimeException notJson) {
      return new AgentHubException(Failure.Kind.ofStatus(code), message);
    }
  }

  /** The failure of a message that timed out on its way or at the agent. */
  static AgentHubException timedOut(String agent) {
    return new AgentHubException(Failure.Kind.TIMEOUT, "agent '" + agent + "' did not answer in time");
  }

  /** What a failed request to the hub means. */
  public static AgentHubException of(Throwable err, String agent) {
    if (err instanceof AgentHubException e) {
      return e;
    }
    if (err instanceof ReplyException re) {
      if (re.failureType() == ReplyFailure.NO_HANDLERS) {
        return new AgentHubException(Failure.Kind.UNAVAILABLE, "no hub node serves agent '" + agent
          + "' (unknown agent, or no hub node in the cluster)");
      }
      if (re.failureType() == ReplyFailure.TIMEOUT) {
        return timedOut(agent);
      }
      return answered(re.failureCode(), re.getMessage());
    }
    return new AgentHubException(Failure.Kind.INTERNAL, String.valueOf(err.getMessage()));
  }

  @Override
  public String toString() {
    return "AgentHubException{" + status() + " " + type() + (code() == null ? "" : "/" + code()) + ": " + getMessage()
      + "}";
  }
}
