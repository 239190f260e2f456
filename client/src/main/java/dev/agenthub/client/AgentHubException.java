package dev.agenthub.client;

import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.JsonObject;

/**
 * A message the hub did not answer: {@link #status()} is the HTTP status the HTTP API would have
 * answered (400 bad request, 401 unknown token, 403 agent not allowed, 404, 409, 413, 429 rate or
 * budget, 503 no hub or agent available, 504 timeout), {@link #type()} and {@link #code()} the error
 * object's fields.
 */
public final class AgentHubException extends RuntimeException {

  private final int status;
  private final String type;
  private final String code;
  private final String param;

  public AgentHubException(int status, String type, String message, String code, String param) {
    super(message, null, false, false);
    this.status = status;
    this.type = type;
    this.code = code;
    this.param = param;
  }

  public int status() {
    return status;
  }

  public String type() {
    return type;
  }

  /** The error's code ({@code budget_exceeded}, {@code queue_full}, ...), or null. */
  public String code() {
    return code;
  }

  /** The request field at fault, or null. */
  public String param() {
    return param;
  }

  /** True when sending the same message again later may succeed (429 except budgets, 503, 504). */
  public boolean retryable() {
    return status == 503 || status == 504 || status == 429 && !"budget_exceeded".equals(code);
  }

  /** What a failed request to the hub means. */
  public static AgentHubException of(Throwable err, String agent) {
    if (err instanceof AgentHubException e) {
      return e;
    }
    if (err instanceof ReplyException re) {
      if (re.failureType() == ReplyFailure.NO_HANDLERS) {
        return new AgentHubException(503, "unavailable", "no hub node serves agent '" + agent
          + "' (unknown agent, or no hub node in the cluster)", null, null);
      }
      if (re.failureType() == ReplyFailure.TIMEOUT) {
        return new AgentHubException(504, "timeout", "agent '" + agent + "' did not answer in time", null, null);
      }
      String message = re.getMessage();
      try {
        JsonObject json = new JsonObject(message);
        JsonObject error = json.containsKey("error") ? json.getJsonObject("error") : json;
        return new AgentHubException(re.failureCode(), error.getString("type"), error.getString("message"),
          error.getString("code"), error.getString("param"));
      } catch (RuntimeException notJson) {
        return new AgentHubException(re.failureCode(), "error", message, null, null);
      }
    }
    return new AgentHubException(500, "client_error", String.valueOf(err.getMessage()), null, null);
  }

  @Override
  public String toString() {
    return "AgentHubException{" + status + " " + type + (code == null ? "" : "/" + code) + ": " + getMessage() + "}";
  }
}
