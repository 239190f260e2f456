package dev.agenthub.agents;

import dev.agenthub.protocol.Turn;

import io.vertx.core.Future;

import java.util.HashMap;
import java.util.Map;
import java.util.function.Function;

/**
 * The turns of one instance a client can still cancel, waiting or running, by their turn key
 * ({@link Turn.Request#turnKey()}): a streaming client that goes away stops its turn, and its model
 * call in flight is cut short. Not thread-safe: it lives on its verticle's context.
 */
final class RunningTurns {

  /**
   * What a cancel found.
   *
   * @param found        whether the turn was waiting or running here
   * @param callInFlight the id of its model call in flight, for the governor to cut short, or null
   */
  record Cancellation(boolean found, String callInFlight) {
  }

  private final Map<String, TurnControl> controls = new HashMap<>();

  /**
   * Runs {@code turn} with a control of its own, which {@link #cancel} finds by {@code key} until the
   * turn completes. A turn without a key (null) cannot be cancelled.
   */
  <T> Future<T> run(String key, Function<TurnControl, Future<T>> turn) {
    TurnControl control = new TurnControl();
    if (key == null) {
      return turn.apply(control);
    }
    controls.put(key, control);
    return turn.apply(control).onComplete(ar -> controls.remove(key, control));
  }

  /** Marks the turn of {@code key} cancelled: it stops between its steps, or before it starts. */
  Cancellation cancel(String key) {
    TurnControl control = key == null ? null : controls.get(key);
    return control == null ? new Cancellation(false, null) : new Cancellation(true, control.cancel());
  }
}
