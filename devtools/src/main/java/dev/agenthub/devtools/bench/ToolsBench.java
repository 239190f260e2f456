package dev.agenthub.devtools.bench;

import dev.agenthub.config.ConfigLoader;
import dev.agenthub.config.HubConfig;
import dev.agenthub.mcp.McpEvents;
import dev.agenthub.mcp.McpVerticle;
import dev.agenthub.protocol.MessageAuth;
import dev.agenthub.protocol.ToolCall;
import dev.agenthub.testing.NpmPeers;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.json.JsonObject;
import org.HdrHistogram.Histogram;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * {@code bench tools}: the hub's own cost per MCP tool call, on a warm stdio server (the reference
 * {@code server-everything} from npm, tool {@code echo}). The same calls, one at a time, straight
 * over the server's stdin and stdout (a bare JSON-RPC client, no hub), then through the node's tool
 * door as an agent makes them (a signed local request, the agent's rules, the schema check, the
 * session, the child's pipes): the difference at each percentile is the hub's overhead. Then 500
 * calls at once over 100 sessions, and the server SIGKILLed under load: how long until a call
 * succeeds again. Asserts nothing.
 */
final class ToolsBench {

  private static final byte[] SECRET = "bench-tools-secret-0123456789".getBytes(StandardCharsets.UTF_8);

  private ToolsBench() {
  }

  static void run(PrintStream out, int calls) throws Exception {
    String server = NpmPeers.script("@modelcontextprotocol/server-everything", "dist/index.js").toString();
    out.printf("scenario tools: %,d sequential echo calls to a warm stdio MCP server (server-everything), %d cores%n",
      calls, Runtime.getRuntime().availableProcessors());
    Histogram raw = raw(server, calls);
    print(out, "  bare JSON-RPC over the server's stdio (no hub)", raw, calls, 0);
    Path dir = Files.createTempDirectory("agenthub-bench-tools");
    HubConfig config = ConfigLoader.parse("""
      node: { name: bench }
      memory: { dir: "%s" }
      providers: { sim: { type: sim } }
      models: { sim-small: { provider: sim } }
      mcp: { servers: { every: { command: [node, "%s", stdio], local: true, max-concurrent: 64 } } }
      agents: [ { id: support, models: { routine: sim-small }, skills: [mcp.every.*] } ]
      """.formatted(dir, server));
    Vertx vertx = Vertx.vertx();
    try {
      vertx.deployVerticle(new McpVerticle(config, new MessageAuth.Verifier(SECRET), McpEvents.NONE, Map.of()))
        .await(1, TimeUnit.MINUTES);
      MessageAuth.Signer agent = MessageAuth.Signer.of(SECRET, "support");
      for (int i = 0; i < Math.min(calls, 2_000); i++) {
        call(vertx, agent, "s0", "warm " + i).await(1, TimeUnit.MINUTES);
      }
      Histogram hub = new Histogram(TimeUnit.MINUTES.toNanos(1), 3);
      int failed = 0;
      for (int i = 0; i < calls; i++) {
        long t0 = System.nanoTime();
        ToolCall.Reply r = call(vertx, agent, "s1", "m" + i).await(1, TimeUnit.MINUTES);
        hub.recordValue(System.nanoTime() - t0);
        failed += r.error() ? 1 : 0;
      }
      print(out, "  through the hub's tool door (as an agent calls it)", hub, calls, failed);
      out.printf("  the hub's own overhead per call: p50 %.3f ms, p99 %.3f ms%n",
        (hub.getValueAtPercentile(50) - raw.getValueAtPercentile(50)) / 1e6,
        (hub.getValueAtPercentile(99) - raw.getValueAtPercentile(99)) / 1e6);
      burst(out, vertx, agent, 500, 100);
      killed(out, vertx, agent);
    } finally {
      vertx.close().await(1, TimeUnit.MINUTES);
    }
  }

  private static Future<ToolCall.Reply> call(Vertx vertx, MessageAuth.Signer agent, String session, String text) {
    JsonObject body = new ToolCall.Request("support", null, session, "mcp.every.echo",
      new JsonObject().put("message", text), ToolCall.newCallId()).toJson();
    return vertx.eventBus().<JsonObject>request(ToolCall.ADDRESS, body, agent.signLocal(ToolCall.ADDRESS,
      new DeliveryOptions().setSendTimeout(60_000).addHeader("timeout", "60000")))
      .map(m -> ToolCall.Reply.fromJson(m.body()));
  }

  /** 500 calls at once over 100 sessions: how many failed, and how long they took together. */
  private static void burst(PrintStream out, Vertx vertx, MessageAuth.Signer agent, int calls, int sessions)
    throws Exception {
    long t0 = System.nanoTime();
    List<Future<ToolCall.Reply>> all = new ArrayList<>();
    for (int i = 0; i < calls; i++) {
      all.add(call(vertx, agent, "burst-" + (i % sessions), "b" + i));
    }
    Future.join(all).await(5, TimeUnit.MINUTES);
    long errors = all.stream().filter(f -> f.failed() || f.result().error()).count();
    out.printf("  %d calls at once over %d sessions: %d errors, all answered in %.0f ms%n", calls, sessions, errors,
      (System.nanoTime() - t0) / 1e6);
  }

  /** The child SIGKILLed while calls run: the time from the kill to the first call that succeeds after it. */
  private static void killed(PrintStream out, Vertx vertx, MessageAuth.Signer agent) throws Exception {
    ProcessHandle child = ProcessHandle.current().children()
      .filter(p -> p.info().commandLine().orElse("").contains("server-everything")).findFirst().orElse(null);
    if (child == null) {
      out.println("  killed under load: no child process found");
      return;
    }
    List<Future<ToolCall.Reply>> load = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      load.add(call(vertx, agent, "load-" + i, "l" + i));
    }
    long killedAt = System.nanoTime();
    child.destroyForcibly();
    child.onExit().get(30, TimeUnit.SECONDS);
    long okAt = -1;
    int attempts = 0;
    while (okAt < 0 && System.nanoTime() - killedAt < TimeUnit.SECONDS.toNanos(60)) {
      attempts++;
      ToolCall.Reply r = call(vertx, agent, "after-kill", "a").await(1, TimeUnit.MINUTES);
      if (!r.error()) {
        okAt = System.nanoTime();
      } else {
        Thread.sleep(20);
      }
    }
    Future.join(load).await(2, TimeUnit.MINUTES);
    long lost = load.stream().filter(f -> f.failed() || f.result().error()).count();
    out.printf("  server SIGKILLed under load: %d of 50 calls in flight answered with an error (tool results), "
      + "the next call succeeded %.2f s after the kill (%d attempts)%n", lost,
      okAt < 0 ? -1 : (okAt - killedAt) / 1e9, attempts);
  }

  /** The same echo calls over the child's pipes with a blocking client: what the server and the pipes cost alone. */
  private static Histogram raw(String server, int calls) throws Exception {
    Process p = new ProcessBuilder("node", server, "stdio").redirectError(ProcessBuilder.Redirect.DISCARD).start();
    try {
      OutputStream in = p.getOutputStream();
      BufferedReader outLines = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
      send(in, new JsonObject().put("jsonrpc", "2.0").put("id", 0).put("method", "initialize").put("params",
        new JsonObject().put("protocolVersion", "2025-06-18").put("capabilities", new JsonObject())
          .put("clientInfo", new JsonObject().put("name", "bench").put("version", "1"))));
      answer(outLines, 0);
      send(in, new JsonObject().put("jsonrpc", "2.0").put("method", "notifications/initialized"));
      Histogram h = new Histogram(TimeUnit.MINUTES.toNanos(1), 3);
      for (int i = 1; i <= calls + Math.min(calls, 2_000); i++) {
        long t0 = System.nanoTime();
        send(in, new JsonObject().put("jsonrpc", "2.0").put("id", i).put("method", "tools/call").put("params",
          new JsonObject().put("name", "echo").put("arguments", new JsonObject().put("message", "m" + i))));
        answer(outLines, i);
        if (i > Math.min(calls, 2_000)) {
          h.recordValue(System.nanoTime() - t0);
        }
      }
      return h;
    } finally {
      p.destroyForcibly();
    }
  }

  private static void send(OutputStream in, JsonObject message) throws Exception {
    in.write((message.encode() + "\n").getBytes(StandardCharsets.UTF_8));
    in.flush();
  }

  private static void answer(BufferedReader lines, int id) throws Exception {
    String line;
    while ((line = lines.readLine()) != null) {
      JsonObject m = new JsonObject(line);
      if (Integer.valueOf(id).equals(m.getInteger("id")) && m.getString("method") == null) {
        return;
      }
    }
    throw new IllegalStateException("the server ended");
  }

  private static void print(PrintStream out, String what, Histogram h, int calls, int failed) {
    out.printf("%-56s p50 %6.3f ms   p99 %6.3f ms   p99.9 %6.3f ms   max %7.2f ms   failed %d of %d%n", what,
      h.getValueAtPercentile(50) / 1e6, h.getValueAtPercentile(99) / 1e6, h.getValueAtPercentile(99.9) / 1e6,
      h.getMaxValue() / 1e6, failed, calls);
  }
}
