package dev.agenthub.protocol;

import java.util.Locale;

/**
 * How urgent a turn or a model call is: a person waiting ({@code interactive}), an agent's own
 * heartbeat, or a batch message (through the provider's batch API where it has one, at half price).
 * The governor's fair queue serves them in that order.
 */
public enum Priority {
  INTERACTIVE, HEARTBEAT, BATCH;

  /** The name the HTTP API and the messages use. */
  public String id() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** The priority a message names; an unknown name is an error. */
  public static Priority of(String id) {
    return valueOf(id.toUpperCase(Locale.ROOT));
  }
}
