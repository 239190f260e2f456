package dev.agenthub.agents;

import dev.agenthub.protocol.Failure;

import io.vertx.core.eventbus.ReplyException;

import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * What a failed turn answers: the {@link Failure} its cause stands for, as the caller must act on it
 * (send the turn again to the session's new owner, wait, give up).
 */
final class TurnFailures {

  private static final Logger LOG = Logger.getLogger(TurnFailures.class.getName());

  private TurnFailures() {
  }

  static Failure of(Throwable cause) {
    if (cause instanceof SessionMailboxes.QueueFullException) {
      return new Failure(Failure.Kind.QUEUE_FULL, cause.getMessage());
    }
    if (cause instanceof TurnRunner.TurnTimeout) {
      return new Failure(Failure.Kind.TIMEOUT, cause.getMessage());
    }
    if (cause instanceof TurnRunner.Cancelled) {
      return new Failure(Failure.Kind.CANCELLED, cause.getMessage());
    }
    if (cause instanceof Failure f) {
      return switch (f.kind()) {
        // the memory fenced the turn's write: another instance owns the session now (the gateway resends)
        case FENCED -> new Failure(Failure.Kind.SESSION_MOVED,
          "the session moved to another instance while this turn ran; send it again");
        // claims and replication are the writer's business: to the caller, the memory could not answer
        case STALE_CLAIM, STALE_WRITER, OUT_OF_ORDER, INTERNAL ->
          new Failure(Failure.Kind.UNAVAILABLE, "memory unavailable: " + f.getMessage());
        default -> f;
      };
    }
    if (cause instanceof ReplyException) {
      return Failure.from(cause, Failure.Kind.UNAVAILABLE, "the governor did not answer");
    }
    LOG.log(Level.WARNING, "turn failed unexpectedly", cause);
    return new Failure(Failure.Kind.MODEL_ERROR, "model call failed");
  }
}
