package dev.agenthub.hub.telemetry;

import dev.agenthub.protocol.LogFields;

import io.vertx.core.json.JsonObject;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.logging.Formatter;
import java.util.logging.LogRecord;

/**
 * One JSON object per line: {@code time}, {@code level}, {@code logger}, {@code node},
 * {@code message}, and where known {@code agent}, {@code session}, {@code request_id} (from the
 * Vert.x context that logged, see {@link LogFields}), {@code trace_id} and {@code span_id} (the
 * current trace), {@code error} and {@code stack}.
 */
public final class JsonLogFormatter extends Formatter {

  private final String node;

  public JsonLogFormatter(String node) {
    this.node = node;
  }

  @Override
  public String format(LogRecord record) {
    JsonObject line = new JsonObject().put("time", record.getInstant().toString()).put("level", level(record))
      .put("logger", record.getLoggerName()).put("node", node).put("message", formatMessage(record));
    LogFields fields = LogFields.current();
    if (fields != null) {
      putIfSet(line, "agent", fields.agent());
      putIfSet(line, "session", fields.session());
      putIfSet(line, "request_id", fields.requestId());
    }
    String traceparent = Tracing.currentTraceparent();
    if (traceparent != null) {
      line.put("trace_id", traceparent.substring(3, 35)).put("span_id", traceparent.substring(36, 52));
    }
    Throwable thrown = record.getThrown();
    if (thrown != null) {
      line.put("error", thrown.getClass().getName() + (thrown.getMessage() == null ? "" : ": " + thrown.getMessage()));
      StringWriter stack = new StringWriter();
      thrown.printStackTrace(new PrintWriter(stack));
      line.put("stack", stack.toString());
    }
    return line.encode() + System.lineSeparator();
  }

  private static void putIfSet(JsonObject line, String key, String value) {
    if (value != null) {
      line.put(key, value);
    }
  }

  /** SEVERE, WARNING and INFO as operators' tools spell them; the finer ones as DEBUG and TRACE. */
  private static String level(LogRecord record) {
    int v = record.getLevel().intValue();
    return v >= 1000 ? "ERROR" : v >= 900 ? "WARN" : v >= 800 ? "INFO" : v >= 500 ? "DEBUG" : "TRACE";
  }
}
