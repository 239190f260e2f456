package dev.agenthub.mcp.door;

import io.vertx.core.json.JsonObject;

/** The JSON-RPC 2.0 messages the door writes, and the error codes it uses. */
final class JsonRpc {

  static final int PARSE_ERROR = -32700;
  static final int INVALID_REQUEST = -32600;
  static final int METHOD_NOT_FOUND = -32601;
  static final int INVALID_PARAMS = -32602;
  static final int INTERNAL_ERROR = -32603;
  /** What the MCP SDKs answer about the transport itself: a missing session, a wrong header. */
  static final int BAD_REQUEST = -32000;
  static final int SESSION_NOT_FOUND = -32001;

  private JsonRpc() {
  }

  static JsonObject result(Object id, JsonObject result) {
    return new JsonObject().put("jsonrpc", "2.0").put("id", id).put("result", result);
  }

  static JsonObject error(Object id, int code, String message) {
    return new JsonObject().put("jsonrpc", "2.0").put("id", id)
      .put("error", new JsonObject().put("code", code).put("message", message));
  }

  static JsonObject notification(String method, JsonObject params) {
    return new JsonObject().put("jsonrpc", "2.0").put("method", method).put("params", params);
  }

  /** One server-sent event carrying a JSON-RPC message (the event name MCP clients read is {@code message}). */
  static String event(JsonObject message) {
    return "event: message\ndata: " + message.encode() + "\n\n";
  }

  /** Whether {@code id} may be a request's id: MCP allows a string or a number, never null. */
  static boolean validId(Object id) {
    return id instanceof String || id instanceof Number;
  }

  /**
   * A request id as a key: the same id whichever way it was read ({@code 7} and {@code 7.0} are one),
   * a string and a number apart.
   */
  static String key(Object id) {
    if (id instanceof Number n) {
      double d = n.doubleValue();
      return d == Math.rint(d) && !Double.isInfinite(d) ? "n:" + (long) d : "n:" + d;
    }
    return "s:" + id;
  }
}
