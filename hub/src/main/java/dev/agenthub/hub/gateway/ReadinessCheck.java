package dev.agenthub.hub.gateway;

import java.util.function.BooleanSupplier;

/** A check of {@code /health/ready} that says why it is down ({@code reasons} in the answer). */
@FunctionalInterface
public interface ReadinessCheck extends BooleanSupplier {

  /** Why the check is down, or null when it is up. */
  String down();

  @Override
  default boolean getAsBoolean() {
    return down() == null;
  }
}
