package dev.agenthub.mcp;

import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.json.JsonObject;

/**
 * How JSON-RPC messages reach one MCP server and come back: a child process's stdin and stdout
 * ({@link StdioTransport}) or Streamable HTTP ({@link HttpTransport}). Everything it reports arrives
 * on the context that opened it.
 */
interface McpTransport {

  /**
   * Starts it: {@code messages} gets every message the server sends, {@code closed} (once) why it
   * ended when that was not {@link #close()}.
   */
  Future<Void> open(Handler<JsonObject> messages, Handler<String> closed);

  /** Sends one message; fails when it could not be delivered (the request then fails at once). */
  Future<Void> send(JsonObject message);

  /** The protocol revision the session agreed on (HTTP sends it on every later request). */
  default void negotiated(String protocolVersion) {
  }

  /** Ends it; the process is stopped, the HTTP session deleted. */
  Future<Void> close();
}
