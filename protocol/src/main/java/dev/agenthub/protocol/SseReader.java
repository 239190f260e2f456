package dev.agenthub.protocol;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.function.BiConsumer;

/**
 * Reads a server-sent event stream (a provider's streamed answer, an MCP server's Streamable HTTP) as it arrives, in pieces cut anywhere (even inside a UTF-8
 * character): each complete event goes to the handler as {@code (event name or null, data)}, the
 * data lines of one event joined by newlines. Comments ({@code :ping}) and ids are skipped. Bounded:
 * an event larger than {@code maxEventBytes} is an error, not an ever-growing buffer.
 */
public final class SseReader {

  /** The stream broke the format or the size bound. */
  public static final class Malformed extends RuntimeException {
    Malformed(String message) {
      super(message, null, false, false);
    }
  }

  private final BiConsumer<String, String> handler;
  private final int maxEventBytes;
  private byte[] line = new byte[256];
  private int lineLength;
  private boolean lastWasCr;
  private String event;
  private StringBuilder data;
  private int eventBytes;

  public SseReader(int maxEventBytes, BiConsumer<String, String> handler) {
    this.maxEventBytes = maxEventBytes;
    this.handler = handler;
  }

  public void feed(byte[] bytes) {
    for (byte b : bytes) {
      if (b == '\n' && lastWasCr) {
        lastWasCr = false; // the LF of a CRLF: the line already ended at the CR
        continue;
      }
      lastWasCr = b == '\r';
      if (b == '\n' || b == '\r') {
        endLine();
      } else {
        if (lineLength >= maxEventBytes) {
          throw new Malformed("a server-sent event line is longer than " + maxEventBytes + " bytes");
        }
        if (lineLength == line.length) {
          line = Arrays.copyOf(line, Math.min(maxEventBytes, line.length * 2));
        }
        line[lineLength++] = b;
      }
    }
  }

  /** The stream ended: an event without its blank line still counts (some servers omit it). */
  public void end() {
    if (lineLength > 0) {
      endLine();
    }
    dispatch();
  }

  private void endLine() {
    String text = new String(line, 0, lineLength, StandardCharsets.UTF_8);
    lineLength = 0;
    if (text.isEmpty()) {
      dispatch();
      return;
    }
    if (text.startsWith(":")) {
      return;
    }
    int colon = text.indexOf(':');
    String field = colon < 0 ? text : text.substring(0, colon);
    String value = colon < 0 ? "" : text.substring(colon + 1);
    if (value.startsWith(" ")) {
      value = value.substring(1);
    }
    eventBytes += text.length();
    if (eventBytes > maxEventBytes) {
      throw new Malformed("a server-sent event is larger than " + maxEventBytes + " bytes");
    }
    switch (field) {
      case "event" -> event = value;
      case "data" -> {
        if (data == null) {
          data = new StringBuilder(value);
        } else {
          data.append('\n').append(value);
        }
      }
      default -> {
        // id, retry and unknown fields mean nothing to a one-shot model stream
      }
    }
  }

  private void dispatch() {
    if (data != null) {
      handler.accept(event, data.toString());
    }
    event = null;
    data = null;
    eventBytes = 0;
  }
}
