package dev.agenthub.mcp;

import dev.agenthub.config.HubConfig;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import java.util.logging.Logger;

/**
 * One configured MCP server as this node sees it: its session (started on first use; for a stdio
 * server, a child process of this node, started again with backoff after it dies), the tools it
 * lists (kept until it says they changed), and its limits: at most {@code max-concurrent} calls in
 * flight (more wait for a place within their own timeout), each within {@code timeout}. Lives on the
 * MCP verticle's context.
 */
final class McpServer {

  static final long FIRST_BACKOFF_MS = 250;
  /** The longest a session may take to start and list its tools (a Node.js server takes seconds on a busy node). */
  static final long START_TIMEOUT_MS = 60_000;
  static final long MAX_BACKOFF_MS = 30_000;
  /** A session that stayed up this long resets the backoff. */
  static final long STABLE_MS = 30_000;
  private static final Logger LOG = Logger.getLogger(McpServer.class.getName());

  /** What a call ended as, for the audit and the metric. */
  enum Outcome {
    OK, ERROR, INVALID, TIMEOUT, FAILED, CANCELLED, REFUSED;

    String id() {
      return name().toLowerCase();
    }
  }

  /**
   * A call's result for the model, and what it ended as; {@code knownTool}: the server lists the
   * tool (else the metric does not take its name: a model's made-up names would be labels without end).
   */
  record Result(String text, Outcome outcome, boolean knownTool) {
    Result(String text, Outcome outcome) {
      this(text, outcome, true);
    }
  }

  private final Vertx vertx;
  private final HubConfig.McpServer config;
  private final Supplier<McpTransport> transports;
  private final McpEvents events;
  private McpSession session;
  private Future<McpSession> starting;
  private Future<Map<String, ToolSchema>> tools;
  private long backoffMs = FIRST_BACKOFF_MS;
  private long startedAt;
  private long restartTimer = -1;
  private boolean used;
  private boolean closed;
  private int inFlight;
  private final ArrayDeque<Promise<Void>> waiting = new ArrayDeque<>();
  private final Map<String, Long> calls = new HashMap<>();

  McpServer(Vertx vertx, HubConfig.McpServer config, Supplier<McpTransport> transports, McpEvents events) {
    this.vertx = vertx;
    this.config = config;
    this.transports = transports;
    this.events = events;
  }

  HubConfig.McpServer config() {
    return config;
  }

  /** The tools it lists by name (starting it if need be). */
  Future<Map<String, ToolSchema>> tools() {
    if (tools == null) {
      Future<Map<String, ToolSchema>> listing = session().compose(s -> s.listTools(Math.max(config.timeoutMs(), START_TIMEOUT_MS))).map(listed -> {
        Map<String, ToolSchema> byName = new LinkedHashMap<>();
        for (JsonObject t : listed) {
          ToolSchema tool = ToolSchema.of(t);
          if (tool != null) {
            byName.put(tool.name(), tool);
          }
        }
        return byName;
      });
      tools = listing;
      listing.onFailure(err -> {
        if (tools == listing) {
          tools = null; // asked again next time
        }
      });
    }
    return tools;
  }

  /**
   * Runs {@code tool} (its bare name) once the arguments fit its schema; every way it can end is a
   * {@link Result} for the model, never a failed future.
   */
  Future<Result> call(String tool, JsonObject arguments, String callId, long timeoutMs) {
    long budget = Math.min(timeoutMs, config.timeoutMs());
    long deadline = System.nanoTime() + budget * 1_000_000;
    // the call's own budget bounds a server that is still starting, too
    return tools().timeout(budget, TimeUnit.MILLISECONDS).compose(listed -> {
      ToolSchema schema = listed.get(tool) != null ? listed.get(tool) : listed.get(tool.replace(".", "__"));
      if (schema == null) {
        return Future.succeededFuture(new Result("error: server '" + config.name() + "' has no tool '" + tool + "'",
          Outcome.INVALID, false));
      }
      List<String> problems = schema.problems(arguments);
      if (!problems.isEmpty()) {
        return Future.succeededFuture(new Result("error: the arguments do not fit the tool's input schema: "
          + String.join("; ", problems), Outcome.INVALID));
      }
      return place(budget).compose(v -> {
        long left = Math.max(1, (deadline - System.nanoTime()) / 1_000_000);
        return session().compose(s -> s.callTool(schema.name(), arguments, left, id -> calls.put(callId, id))
          .map(result -> result(result))).eventually(() -> {
            calls.remove(callId);
            release();
            return Future.succeededFuture();
          });
      });
    }).recover(err -> Future.succeededFuture(failed(err)));
  }

  /** Cuts a call short (its turn was cancelled). */
  void cancel(String callId) {
    Long id = calls.remove(callId);
    if (id != null && session != null) {
      session.cancel(id, "the turn was cancelled");
    }
  }

  private Result result(JsonObject result) {
    String text = McpResults.text(result, config.maxResultChars());
    boolean error = result.getBoolean("isError", false);
    return error ? new Result("error: " + text, Outcome.ERROR) : new Result(text, Outcome.OK);
  }

  private static Result failed(Throwable err) {
    if (err instanceof TimeoutException) {
      return new Result("error: the tool's server did not start in time", Outcome.TIMEOUT);
    }
    if (err instanceof McpSession.Timeout) {
      return new Result("error: the tool did not answer in time (" + err.getMessage() + ")", Outcome.TIMEOUT);
    }
    if (err instanceof McpSession.Cancelled) {
      return new Result("error: the call was cancelled", Outcome.CANCELLED);
    }
    if (err instanceof McpSession.RpcError rpc) {
      return new Result("error: the server refused the call: " + rpc.getMessage(), Outcome.ERROR);
    }
    if (err instanceof Busy) {
      return new Result("error: " + err.getMessage(), Outcome.TIMEOUT);
    }
    return new Result("error: the tool's server failed: " + err.getMessage(), Outcome.FAILED);
  }

  /** Waits for a place among {@code max-concurrent}, at most {@code timeoutMs}. */
  private Future<Void> place(long timeoutMs) {
    if (inFlight < config.maxConcurrent()) {
      inFlight++;
      return Future.succeededFuture();
    }
    Promise<Void> place = Promise.promise();
    waiting.add(place);
    long timer = vertx.setTimer(timeoutMs, t -> {
      if (waiting.remove(place)) {
        place.tryFail(new Busy(config.name(), config.maxConcurrent()));
      }
    });
    return place.future().onComplete(ar -> vertx.cancelTimer(timer));
  }

  private void release() {
    Promise<Void> next = waiting.poll();
    if (next != null) {
      next.complete(); // the place passes on
    } else {
      inFlight--;
    }
  }

  /** The session, started (or being started) on first use. */
  private Future<McpSession> session() {
    if (closed) {
      return Future.failedFuture(new IllegalStateException("the node is stopping"));
    }
    if (session != null && session.open()) {
      return Future.succeededFuture(session);
    }
    if (starting == null) {
      used = true;
      McpTransport transport;
      try {
        transport = transports.get();
      } catch (RuntimeException e) {
        return Future.failedFuture(e);
      }
      McpSession s = new McpSession(vertx, config.name(), transport, this::toolsChanged);
      Future<McpSession> started = s.start(Math.max(config.timeoutMs(), START_TIMEOUT_MS), this::ended);
      starting = started;
      started.onComplete(ar -> {
        starting = null;
        if (ar.succeeded()) {
          session = s;
          startedAt = System.nanoTime();
          events.server(config.name(), "started");
          LOG.info("mcp " + config.name() + ": ready (" + s.serverInfo().getString("name", "?") + " "
            + s.serverInfo().getString("version", "") + ")");
        } else {
          s.close();
          events.server(config.name(), "failed");
          LOG.warning("mcp " + config.name() + ": cannot start: " + ar.cause().getMessage());
          scheduleRestart();
        }
      });
    }
    return starting;
  }

  private void toolsChanged() {
    tools = null;
  }

  /** The session ended on its own (the process died, the HTTP session expired). */
  private void ended(String why) {
    session = null;
    tools = null;
    if (closed) {
      return;
    }
    events.server(config.name(), "died");
    LOG.warning("mcp " + config.name() + ": " + why + "; starting it again");
    if ((System.nanoTime() - startedAt) / 1_000_000 > STABLE_MS) {
      backoffMs = FIRST_BACKOFF_MS;
    }
    scheduleRestart();
  }

  private void scheduleRestart() {
    if (closed || !used || restartTimer >= 0) {
      return;
    }
    long delay = backoffMs;
    backoffMs = Math.min(MAX_BACKOFF_MS, backoffMs * 2);
    restartTimer = vertx.setTimer(delay, t -> {
      restartTimer = -1;
      if (!closed && session == null && starting == null) {
        session();
      }
    });
  }

  /** Stops it: a child process is ended, an HTTP session deleted. */
  Future<Void> close() {
    closed = true;
    if (restartTimer >= 0) {
      vertx.cancelTimer(restartTimer);
    }
    Promise<Void> w;
    while ((w = waiting.poll()) != null) {
      w.tryFail(new IllegalStateException("the node is stopping"));
    }
    McpSession s = session;
    session = null;
    return s == null ? Future.succeededFuture() : s.close();
  }

  /** Too many calls in flight for too long. */
  static final class Busy extends RuntimeException {
    Busy(String server, int max) {
      super("server '" + server + "' has " + max + " calls in flight (max-concurrent) and none ended in time",
        null, false, false);
    }
  }
}
