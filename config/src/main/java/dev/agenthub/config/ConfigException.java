package dev.agenthub.config;

/** A configuration error: one line naming the field and the reason. */
public final class ConfigException extends RuntimeException {

  public ConfigException(String field, String reason) {
    super(field + ": " + reason, null, false, false);
  }
}
