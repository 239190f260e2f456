package dev.agenthub.mcp;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * An MCP server as a child process: newline-delimited JSON-RPC on its stdin and stdout, its stderr
 * in the node's log. The process's streams block, so each has a thread of its own (a reader, an
 * error reader, one writer that keeps messages in order); what they read is handed to the context
 * that opened the transport. The child gets a small environment (the path, home, locale, temp
 * directory) plus its configured {@code env}, never the node's: the cluster secret and the
 * providers' keys stay in the node.
 */
final class StdioTransport implements McpTransport {

  /** The node's variables a child inherits: enough to find and run a program, nothing secret. */
  static final List<String> INHERITED = List.of("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "USER", "LOGNAME",
    "SHELL", "TERM");
  /** The longest line (one message) taken from a server; a longer one ends it. */
  static final int MAX_LINE = 16 * 1024 * 1024;
  private static final int MAX_LOG_LINE = 2_000;
  private static final Logger LOG = Logger.getLogger(StdioTransport.class.getName());

  private final Vertx vertx;
  private final String server;
  private final List<String> command;
  private final Map<String, String> env;
  private Context context;
  private Process process;
  private ExecutorService writer;
  private Handler<String> closed;
  private boolean closing;

  StdioTransport(Vertx vertx, String server, List<String> command, Map<String, String> env) {
    this.vertx = vertx;
    this.server = server;
    this.command = List.copyOf(command);
    this.env = Map.copyOf(env);
  }

  @Override
  public Future<Void> open(Handler<JsonObject> messages, Handler<String> closed) {
    this.context = vertx.getOrCreateContext();
    this.closed = closed;
    // starting a process forks and may touch the disk: not on an event loop
    return vertx.executeBlocking(() -> {
      ProcessBuilder builder = new ProcessBuilder(command);
      Map<String, String> childEnv = builder.environment();
      Map<String, String> parent = Map.copyOf(childEnv);
      childEnv.clear();
      INHERITED.forEach(k -> {
        if (parent.containsKey(k)) {
          childEnv.put(k, parent.get(k));
        }
      });
      childEnv.putAll(env);
      return builder.start();
    }, false).map(p -> {
      process = p;
      writer = Executors.newSingleThreadExecutor(r -> daemon(r, "mcp-" + server + "-writer"));
      daemon(() -> readMessages(p.getInputStream(), messages), "mcp-" + server + "-stdout").start();
      daemon(() -> readLog(p.getErrorStream()), "mcp-" + server + "-stderr").start();
      p.onExit().thenAccept(done -> context.runOnContext(v -> ended("the process exited with code " + done.exitValue())));
      return (Void) null;
    }).recover(err -> Future.failedFuture(new IllegalStateException("cannot start " + command.get(0) + ": "
      + err.getMessage())));
  }

  @Override
  public Future<Void> send(JsonObject message) {
    Process p = process;
    if (p == null || !p.isAlive()) {
      return Future.failedFuture(new IllegalStateException("the server's process is not running"));
    }
    byte[] line = (message.encode() + "\n").getBytes(StandardCharsets.UTF_8);
    Promise<Void> sent = Promise.promise();
    try {
      writer.execute(() -> {
        try {
          OutputStream in = p.getOutputStream();
          in.write(line);
          in.flush();
          context.runOnContext(v -> sent.complete());
        } catch (IOException e) {
          context.runOnContext(v -> sent.fail(new IllegalStateException("the server's input is closed")));
        }
      });
    } catch (RuntimeException e) {
      return Future.failedFuture(new IllegalStateException("the server's process is stopping"));
    }
    return sent.future();
  }

  /** The MCP way to stop a stdio server: close its input, then SIGTERM, then SIGKILL. */
  @Override
  public Future<Void> close() {
    closing = true;
    Process p = process;
    if (p == null) {
      return Future.succeededFuture();
    }
    return vertx.executeBlocking(() -> {
      try {
        p.getOutputStream().close();
      } catch (IOException ignored) {
        // already closed: it is going anyway
      }
      if (!p.waitFor(1, TimeUnit.SECONDS)) {
        p.destroy();
        if (!p.waitFor(2, TimeUnit.SECONDS)) {
          p.destroyForcibly();
        }
      }
      writer.shutdownNow();
      return (Void) null;
    }, false);
  }

  /** The process's id (for tests that kill it). */
  long pid() {
    return process == null ? -1 : process.pid();
  }

  private void ended(String why) {
    if (writer != null) {
      writer.shutdownNow();
    }
    if (!closing && closed != null) {
      Handler<String> h = closed;
      closed = null;
      h.handle(why);
    }
  }

  private void readMessages(InputStream out, Handler<JsonObject> messages) {
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    byte[] buf = new byte[65536];
    try {
      int n;
      while ((n = out.read(buf)) > 0) {
        int from = 0;
        for (int i = 0; i < n; i++) {
          if (buf[i] == '\n') {
            line.write(buf, from, i - from);
            deliver(line.toString(StandardCharsets.UTF_8), messages);
            line.reset();
            from = i + 1;
          }
        }
        line.write(buf, from, n - from);
        if (line.size() > MAX_LINE) {
          LOG.warning("mcp " + server + ": a message above " + MAX_LINE + " bytes; stopping the server");
          process.destroyForcibly();
          return;
        }
      }
    } catch (IOException e) {
      // the process ended; onExit reports it
    }
  }

  private void deliver(String line, Handler<JsonObject> messages) {
    String text = line.strip();
    if (text.isEmpty()) {
      return;
    }
    JsonObject message;
    try {
      message = new JsonObject(text);
    } catch (DecodeException | ClassCastException e) {
      LOG.warning("mcp " + server + ": not a JSON-RPC message on stdout (" + Math.min(text.length(), 80)
        + " characters ignored)");
      return;
    }
    context.runOnContext(v -> messages.handle(message));
  }

  private void readLog(InputStream err) {
    try {
      BufferedReader reader = new BufferedReader(new InputStreamReader(err, StandardCharsets.UTF_8));
      String line;
      while ((line = reader.readLine()) != null) {
        if (!line.isBlank()) {
          LOG.info("mcp " + server + " (stderr): " + (line.length() > MAX_LOG_LINE ? line.substring(0, MAX_LOG_LINE)
            + "..." : line));
        }
      }
    } catch (IOException e) {
      // the process ended
    }
  }

  private static Thread daemon(Runnable r, String name) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    return t;
  }
}
