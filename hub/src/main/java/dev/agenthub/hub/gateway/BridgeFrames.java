package dev.agenthub.hub.gateway;

import dev.agenthub.protocol.Failure;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.json.JsonObject;

import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * The wire format of the bridge, the Vert.x TCP event-bus bridge's: a 4-byte big-endian length,
 * then that many bytes of UTF-8 JSON {@code {type, address, replyAddress?, headers?, body?}}. In:
 * {@code send}, {@code publish}, {@code register}, {@code unregister}, {@code ping}; out:
 * {@code message}, {@code err}, {@code pong}. Plain functions, no socket.
 */
final class BridgeFrames {

  /** The length prefix. */
  static final int HEADER_BYTES = 4;
  /** Room for a frame's fields around its body (address, reply address, token and stream headers). */
  static final int ENVELOPE_BYTES = 16 * 1024;
  /** Set by the Vert.x bridge on an err frame; kept so that clients which read it see the same names. */
  static final String RECIPIENT_FAILURE = "RECIPIENT_FAILURE";

  /** The frame types a client may send. */
  enum Type {
    SEND, PUBLISH, REGISTER, UNREGISTER, PING;

    /** The type named by a frame's {@code type}, or null when it is none of these. */
    static Type of(Object name) {
      return switch (name instanceof String s ? s : "") {
        case "send" -> SEND;
        case "publish" -> PUBLISH;
        case "register" -> REGISTER;
        case "unregister" -> UNREGISTER;
        case "ping" -> PING;
        default -> null;
      };
    }
  }

  private BridgeFrames() {
  }

  /**
   * The largest frame a connection may announce: a request body as large as the HTTP API accepts
   * ({@code node.http.max-body}) plus {@link #ENVELOPE_BYTES}.
   */
  static int maxFrameBytes(long maxBodyBytes) {
    return (int) Math.min(Integer.MAX_VALUE - ENVELOPE_BYTES, maxBodyBytes) + ENVELOPE_BYTES;
  }

  /** A frame's bytes as a JSON object, or null when they are not one. */
  static JsonObject decode(Buffer bytes) {
    try {
      return new JsonObject(bytes.toString(StandardCharsets.UTF_8));
    } catch (RuntimeException e) {
      return null; // not JSON, not an object, or beyond the parser's own limits (nesting depth)
    }
  }

  static Buffer encode(JsonObject frame) {
    byte[] bytes = frame.encode().getBytes(StandardCharsets.UTF_8);
    return Buffer.buffer(bytes.length + HEADER_BYTES).appendInt(bytes.length).appendBytes(bytes);
  }

  static JsonObject pong() {
    return new JsonObject().put("type", "pong");
  }

  /** A message to a connection: the reply to its request ({@code send} true) or one to its stream address. */
  static JsonObject message(String address, Iterable<Map.Entry<String, String>> headers, Object body, boolean send) {
    JsonObject h = new JsonObject();
    headers.forEach(e -> h.put(e.getKey(), e.getValue()));
    JsonObject frame = new JsonObject().put("type", "message").put("address", address).put("headers", h);
    if (body != null) {
      frame.put("body", body);
    }
    return frame.put("send", send);
  }

  /**
   * An err frame: to {@code replyAddress} when it answers a request (then {@code sourceAddress} is
   * the request's address), else to no address. {@code message} is the API's JSON error object as
   * text, or the event bus's own failure message.
   */
  static JsonObject err(String replyAddress, Object sourceAddress, int failureCode, String failureType, String message) {
    JsonObject frame = new JsonObject().put("type", "err");
    if (replyAddress != null) {
      frame.put("address", replyAddress).put("sourceAddress", sourceAddress);
    }
    return frame.put("failureCode", failureCode).put("failureType", failureType).put("message", message);
  }

  /** An err frame with the API's error object (status, type, message), as HTTP would answer it. */
  static JsonObject err(String replyAddress, Object sourceAddress, Failure error) {
    return err(replyAddress, sourceAddress, error.kind().status(), RECIPIENT_FAILURE, error.toJson().encode());
  }

  /**
   * The delivery of a request whose headers {@link BridgeGuard} rewrote, read as the Vert.x bridge
   * reads them: {@code timeout} and {@code localOnly} are delivery options, the rest headers.
   */
  static DeliveryOptions delivery(JsonObject headers) {
    DeliveryOptions options = new DeliveryOptions();
    for (Map.Entry<String, Object> e : headers) {
      switch (e.getKey()) {
        case "timeout" -> options.setSendTimeout(((Number) e.getValue()).longValue());
        case "localOnly" -> options.setLocalOnly(Boolean.TRUE.equals(e.getValue()));
        default -> options.addHeader(e.getKey(), String.valueOf(e.getValue()));
      }
    }
    return options;
  }
}
