package dev.agenthub.hub.telemetry;

import java.util.Locale;
import java.util.Map;
import java.util.logging.Handler;
import java.util.logging.Logger;

/**
 * Chooses the node's log format: {@code AGENTHUB_LOG_FORMAT} (else {@code telemetry.log-format}):
 * {@code json} for one JSON object per line, {@code text} for lines a person reads, {@code auto}
 * (the default) for text on a terminal and JSON otherwise (containers, services, log shippers).
 */
public final class LogFormat {

  private LogFormat() {
  }

  /** {@code json} or {@code text}; a value other than json, text or auto is an error. */
  public static String resolve(Map<String, String> env, String configured, boolean terminal) {
    String asked = env.getOrDefault("AGENTHUB_LOG_FORMAT", "").isBlank() ? configured
      : env.get("AGENTHUB_LOG_FORMAT").trim().toLowerCase(Locale.ROOT);
    return switch (asked) {
      case "json", "text" -> asked;
      case "auto", "" -> terminal ? "text" : "json";
      default -> throw new IllegalArgumentException("AGENTHUB_LOG_FORMAT must be json, text or auto, got '" + asked + "'");
    };
  }

  /** Puts the JSON formatter on the root logger's handlers (the text format is the default). */
  public static void apply(String format, String node) {
    if (!"json".equals(format)) {
      return;
    }
    for (Handler handler : Logger.getLogger("").getHandlers()) {
      handler.setFormatter(new JsonLogFormatter(node));
    }
  }
}
