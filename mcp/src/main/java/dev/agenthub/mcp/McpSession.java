package dev.agenthub.mcp;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.LongConsumer;
import java.util.logging.Logger;

/**
 * One MCP client session over a {@link McpTransport}: JSON-RPC 2.0 requests with ids, timeouts and
 * cancellation ({@code notifications/cancelled}), the lifecycle ({@code initialize}, then
 * {@code notifications/initialized}), {@code tools/list} page by page, {@code tools/call}, and what
 * the server asks or says unasked: {@code ping} is answered, anything else it asks is refused
 * (-32601: this client offers no sampling, roots or elicitation), {@code tools/list_changed} is
 * passed on. Lives on one context.
 */
final class McpSession {

  /** The revision asked for; a server answering an older one is refused. */
  static final String PROTOCOL = "2025-06-18";
  static final Set<String> SUPPORTED = Set.of("2025-06-18", "2025-11-25");
  private static final int MAX_PAGES = 100;
  private static final Logger LOG = Logger.getLogger(McpSession.class.getName());

  private final Vertx vertx;
  private final String server;
  private final McpTransport transport;
  private final Runnable toolsChanged;
  private final Map<Long, Pending> pending = new HashMap<>();
  private long nextId = 1;
  private String closedBecause;
  private JsonObject serverInfo = new JsonObject();

  private record Pending(String method, Promise<JsonObject> result, long timer) {
  }

  McpSession(Vertx vertx, String server, McpTransport transport, Runnable toolsChanged) {
    this.vertx = vertx;
    this.server = server;
    this.transport = transport;
    this.toolsChanged = toolsChanged;
  }

  /**
   * Opens the transport and runs the handshake; {@code ended} hears (once) why the session ended
   * when it was not {@link #close}d.
   */
  Future<McpSession> start(long timeoutMs, Consumer<String> ended) {
    return transport.open(this::onMessage, why -> {
      fail(why);
      ended.accept(why);
    }).compose(v -> request("initialize", new JsonObject().put("protocolVersion", PROTOCOL)
      .put("capabilities", new JsonObject())
      .put("clientInfo", new JsonObject().put("name", "agenthub").put("version", "0.1")), timeoutMs, id -> {
      })).compose(result -> {
        String version = result.getString("protocolVersion", "");
        if (!SUPPORTED.contains(version)) {
          return Future.failedFuture(new IllegalStateException("the server speaks MCP revision '" + version
            + "'; agenthub needs " + PROTOCOL + " or later"));
        }
        if (!result.getJsonObject("capabilities", new JsonObject()).containsKey("tools")) {
          return Future.failedFuture(new IllegalStateException("the server offers no tools"));
        }
        serverInfo = result.getJsonObject("serverInfo", new JsonObject());
        transport.negotiated(version);
        return transport.send(new JsonObject().put("jsonrpc", "2.0").put("method", "notifications/initialized"));
      }).map(v -> this);
  }

  /** What the server said it is ({@code serverInfo}). */
  JsonObject serverInfo() {
    return serverInfo;
  }

  /** Every tool the server lists, following {@code nextCursor}. */
  Future<List<JsonObject>> listTools(long timeoutMs) {
    return listTools(null, new ArrayList<>(), 0, timeoutMs);
  }

  private Future<List<JsonObject>> listTools(String cursor, List<JsonObject> tools, int page, long timeoutMs) {
    JsonObject params = cursor == null ? new JsonObject() : new JsonObject().put("cursor", cursor);
    return request("tools/list", params, timeoutMs, id -> {
    }).compose(result -> {
      JsonArray listed = result.getJsonArray("tools", new JsonArray());
      for (int i = 0; i < listed.size(); i++) {
        if (listed.getValue(i) instanceof JsonObject t) {
          tools.add(t);
        }
      }
      String next = result.getString("nextCursor");
      if (next == null || next.isEmpty() || page + 1 >= MAX_PAGES) {
        return Future.succeededFuture(tools);
      }
      return listTools(next, tools, page + 1, timeoutMs);
    });
  }

  /** {@code tools/call}; {@code started} learns the request's id, to cancel it. */
  Future<JsonObject> callTool(String name, JsonObject arguments, long timeoutMs, LongConsumer started) {
    return request("tools/call", new JsonObject().put("name", name).put("arguments", arguments), timeoutMs, started);
  }

  /** A request; on timeout the server is told to stop ({@code notifications/cancelled}). */
  Future<JsonObject> request(String method, JsonObject params, long timeoutMs, LongConsumer started) {
    if (closedBecause != null) {
      return Future.failedFuture(new IllegalStateException(closedBecause));
    }
    long id = nextId++;
    Promise<JsonObject> result = Promise.promise();
    long timer = vertx.setTimer(timeoutMs, t -> {
      if (pending.remove(id) != null) {
        cancel(id, "timed out");
        result.tryFail(new Timeout(method, timeoutMs));
      }
    });
    pending.put(id, new Pending(method, result, timer));
    started.accept(id);
    transport.send(new JsonObject().put("jsonrpc", "2.0").put("id", id).put("method", method).put("params", params))
      .onFailure(err -> settle(id, null, err));
    return result.future();
  }

  /** Tells the server to stop request {@code id}; its answer, if it comes, is dropped. */
  void cancel(long id, String reason) {
    Pending p = pending.remove(id);
    if (p != null) {
      vertx.cancelTimer(p.timer());
      p.result().tryFail(new Cancelled());
    }
    if (closedBecause == null) {
      transport.send(new JsonObject().put("jsonrpc", "2.0").put("method", "notifications/cancelled")
        .put("params", new JsonObject().put("requestId", id).put("reason", reason)));
    }
  }

  /** Ends the session: every request still waiting fails. */
  Future<Void> close() {
    fail("the session was closed");
    return transport.close();
  }

  boolean open() {
    return closedBecause == null;
  }

  private void fail(String why) {
    if (closedBecause != null) {
      return;
    }
    closedBecause = why;
    List<Pending> all = new ArrayList<>(pending.values());
    pending.clear();
    for (Pending p : all) {
      vertx.cancelTimer(p.timer());
      p.result().tryFail(new IllegalStateException("the server went away: " + why));
    }
  }

  private void onMessage(JsonObject m) {
    Object id = m.getValue("id");
    String method = m.getString("method");
    if (method == null && id != null) {
      long n = id instanceof Number num ? num.longValue() : parse(id);
      JsonObject error = m.getJsonObject("error");
      settle(n, error == null ? m.getJsonObject("result", new JsonObject()) : null,
        error == null ? null : new RpcError(error.getInteger("code", -32603), error.getString("message", "")));
    } else if (method != null && id != null) {
      answer(id, method);
    } else if ("notifications/tools/list_changed".equals(method)) {
      toolsChanged.run();
    } else if ("notifications/message".equals(method)) {
      JsonObject params = m.getJsonObject("params", new JsonObject());
      LOG.fine("mcp " + server + " (" + params.getString("level", "info") + "): " + params.getValue("data"));
    }
  }

  private void answer(Object id, String method) {
    JsonObject reply = new JsonObject().put("jsonrpc", "2.0").put("id", id);
    if (method.equals("ping")) {
      reply.put("result", new JsonObject());
    } else {
      reply.put("error", new JsonObject().put("code", -32601).put("message", "agenthub does not offer " + method));
    }
    transport.send(reply);
  }

  private void settle(long id, JsonObject result, Throwable error) {
    Pending p = pending.remove(id);
    if (p == null) {
      return; // timed out or cancelled already: a late answer is dropped
    }
    vertx.cancelTimer(p.timer());
    if (error != null) {
      p.result().tryFail(error);
    } else {
      p.result().tryComplete(result);
    }
  }

  private static long parse(Object id) {
    try {
      return Long.parseLong(String.valueOf(id));
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /** The server answered a request with a JSON-RPC error. */
  static final class RpcError extends RuntimeException {
    final int code;

    RpcError(int code, String message) {
      super(message.isEmpty() ? "error " + code : message, null, false, false);
      this.code = code;
    }
  }

  /** A request that took longer than its timeout. */
  static final class Timeout extends RuntimeException {
    Timeout(String method, long ms) {
      super(method + " took longer than " + ms + " ms", null, false, false);
    }
  }

  /** A request cancelled by the hub (its turn was cancelled). */
  static final class Cancelled extends RuntimeException {
    Cancelled() {
      super("cancelled", null, false, false);
    }
  }
}
