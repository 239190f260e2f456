package dev.agenthub.mcp;

import dev.agenthub.agents.AgentSpec;
import dev.agenthub.config.HubConfig;
import dev.agenthub.protocol.Failure;
import dev.agenthub.protocol.Hashes;
import dev.agenthub.protocol.MessageAuth;
import dev.agenthub.protocol.ToolCall;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.logging.Logger;
import java.util.regex.Pattern;

/**
 * The node's tool door: its agents' instances ask it, on local addresses ({@link ToolCall}), for the
 * MCP tools they may offer the model and to run one. Every request must be signed by the agent it
 * names; the agent's {@code skills} decide which tools it has, and a sensitive agent reaches only
 * servers marked {@code local} (the config refuses anything else at load; this is the second line).
 * Each server is a {@link McpServer}, started here on first use and stopped with the node.
 */
public final class McpVerticle extends VerticleBase {

  /** A tool name a provider takes as part of a function name. */
  static final Pattern TOOL_NAME = Pattern.compile("[A-Za-z0-9_.-]{1,64}");
  /** Provider function names are at most this long ({@code mcp__<server>__<tool>}). */
  static final int MAX_WIRE_NAME = 64;
  /** What a call keeps back from its caller's deadline, to answer before the caller gives up. */
  static final long ANSWER_MARGIN_MS = 200;
  /** The metric label of a tool or server name the model made up. */
  static final String OTHER = "(other)";
  private static final Logger LOG = Logger.getLogger(McpVerticle.class.getName());

  private final HubConfig config;
  private final MessageAuth.Verifier verifier;
  private final McpEvents events;
  private final Map<String, String> env;
  private final Map<String, McpServer> servers = new LinkedHashMap<>();
  private final List<MessageConsumer<JsonObject>> consumers = new ArrayList<>();

  /**
   * @param verifier checks that each request is signed by the agent it names
   * @param env      where {@code secret-env} values are read (the node's environment)
   */
  public McpVerticle(HubConfig config, MessageAuth.Verifier verifier, McpEvents events, Map<String, String> env) {
    this.config = config;
    this.verifier = verifier;
    this.events = events;
    this.env = Map.copyOf(env);
  }

  @Override
  public Future<?> start() {
    Failure.register(vertx.eventBus());
    try {
      // every secret now: a missing one stops the node naming the field, not a call later
      config.mcp().servers().values().forEach(this::secrets);
    } catch (RuntimeException e) {
      return Future.failedFuture(e);
    }
    for (HubConfig.McpServer s : config.mcp().servers().values()) {
      servers.put(s.name(), new McpServer(vertx, s, () -> transport(s), events));
    }
    consumers.add(vertx.eventBus().localConsumer(ToolCall.TOOLS_ADDRESS, this::onTools));
    consumers.add(vertx.eventBus().localConsumer(ToolCall.ADDRESS, this::onCall));
    consumers.add(vertx.eventBus().localConsumer(ToolCall.CANCEL_ADDRESS, this::onCancel));
    return Future.all(consumers.stream().map(MessageConsumer::completion).toList());
  }

  @Override
  public Future<?> stop() {
    List<Future<Void>> closing = new ArrayList<>();
    consumers.forEach(c -> closing.add(c.unregister()));
    servers.values().forEach(s -> closing.add(s.close()));
    return Future.join(closing);
  }

  /** The transport of one server, its secrets read from the environment (they are never kept in the config). */
  private McpTransport transport(HubConfig.McpServer s) {
    Map<String, String> values = secrets(s);
    return s.stdio() ? new StdioTransport(vertx, s.name(), s.command(), values)
      : new HttpTransport(vertx, s.name(), s.url(), values, s.timeoutMs(), s.maxConcurrent());
  }

  /** A server's {@code env} (stdio) or {@code headers} (HTTP), each secret read from the environment. */
  private Map<String, String> secrets(HubConfig.McpServer s) {
    String field = "mcp.servers." + s.name() + (s.stdio() ? ".env." : ".headers.");
    Map<String, String> values = new LinkedHashMap<>();
    (s.stdio() ? s.env() : s.headers()).forEach((k, v) -> values.put(k, v.resolve(field + k, env)));
    return values;
  }

  /** The agent that signed the message, when it is the agent the body names and it exists; else refused. */
  private AgentSpec caller(Message<JsonObject> message) {
    String agent = message.body().getString("agent");
    String principal = verifier.verifyLocal(message);
    if (agent == null || !agent.equals(principal)) {
      Failure.reply(message, new Failure(Failure.Kind.FORBIDDEN, "the request is not signed by agent '" + agent + "'"));
      return null;
    }
    AgentSpec spec = config.agent(agent).orElse(null);
    if (spec == null) {
      Failure.reply(message, new Failure(Failure.Kind.NOT_FOUND, "unknown agent '" + agent + "'"));
    }
    return spec;
  }

  private void onTools(Message<JsonObject> message) {
    AgentSpec spec = caller(message);
    if (spec == null) {
      return;
    }
    List<String> names = new ArrayList<>();
    List<Future<Map<String, ToolSchema>>> listings = new ArrayList<>();
    for (McpServer server : usable(spec)) {
      names.add(server.config().name());
      listings.add(server.tools());
    }
    Future.join(listings).onComplete(done -> {
      JsonArray tools = new JsonArray();
      for (int i = 0; i < listings.size(); i++) {
        Future<Map<String, ToolSchema>> listing = listings.get(i);
        if (listing.failed()) {
          continue; // its tools are missing from this turn; the server is being started again
        }
        for (ToolSchema tool : listing.result().values()) {
          String full = ToolCall.PREFIX + names.get(i) + "." + tool.name();
          if (offerable(names.get(i), tool.name()) && ToolCall.allowed(spec.skills(), full)) {
            tools.add(tool.function(full));
          }
        }
      }
      message.reply(new JsonObject().put("tools", tools));
    });
  }

  /** The servers an agent's skills name that it may reach (a sensitive agent: local ones only). */
  private List<McpServer> usable(AgentSpec spec) {
    List<McpServer> out = new ArrayList<>();
    for (McpServer server : servers.values()) {
      String prefix = ToolCall.PREFIX + server.config().name() + ".";
      boolean listed = spec.skills().stream().anyMatch(s -> s.startsWith(prefix));
      if (listed && (!spec.sensitive() || server.config().local())) {
        out.add(server);
      }
    }
    return out;
  }

  private boolean offerable(String server, String tool) {
    return TOOL_NAME.matcher(tool).matches()
      && ("mcp__" + server + "__" + tool.replace(".", "__")).length() <= MAX_WIRE_NAME;
  }

  private void onCall(Message<JsonObject> message) {
    ToolCall.Request request;
    try {
      request = ToolCall.Request.fromJson(message.body());
    } catch (RuntimeException e) {
      Failure.reply(message, new Failure(Failure.Kind.BAD_REQUEST, "malformed tool call: " + e.getMessage()));
      return;
    }
    AgentSpec spec = caller(message);
    if (spec == null) {
      return;
    }
    long started = System.nanoTime();
    String argsHash = Hashes.sha256Hex(request.arguments().encode());
    String rest = request.tool().startsWith(ToolCall.PREFIX) ? request.tool().substring(ToolCall.PREFIX.length()) : "";
    int dot = rest.indexOf('.');
    String serverName = dot > 0 ? rest.substring(0, dot) : rest;
    String tool = dot > 0 ? rest.substring(dot + 1) : "";
    McpServer server = servers.get(serverName);
    String refusal = null;
    if (!ToolCall.allowed(spec.skills(), request.tool())) {
      refusal = "tool '" + request.tool() + "' is not allowed for this agent";
    } else if (server == null) {
      refusal = "no MCP server '" + serverName + "'";
    } else if (spec.sensitive() && !server.config().local()) {
      refusal = "a sensitive agent may not use MCP server '" + serverName + "' (local: false)";
    } else if (server.config().needsApproval(tool) && !request.approved()) {
      // not made: the agent pauses its turn until a person decides, then calls again with approved
      message.reply(ToolCall.Reply.approvalRequired(server.config().approvalTimeoutMs()).toJson());
      return;
    }
    if (refusal != null) {
      LOG.warning("agent " + spec.id() + ": refused tool " + request.tool() + ": " + refusal);
      events.toolCall(spec.id(), request.client(), server == null ? OTHER : serverName, OTHER,
        System.nanoTime() - started, McpServer.Outcome.REFUSED.id(), argsHash);
      message.reply(new ToolCall.Reply("error: " + refusal, true).toJson());
      return;
    }
    server.call(tool, request.arguments(), request.callId(), timeoutMs(message)).onComplete(ar -> {
      McpServer.Result result = ar.succeeded() ? ar.result()
        : new McpServer.Result("error: " + ar.cause().getMessage(), McpServer.Outcome.FAILED);
      events.toolCall(spec.id(), request.client(), serverName, result.knownTool() ? tool : OTHER,
        System.nanoTime() - started, result.outcome().id(), argsHash);
      message.reply(new ToolCall.Reply(result.text(), result.outcome() != McpServer.Outcome.OK).toJson());
    });
  }

  private void onCancel(Message<JsonObject> message) {
    String callId = message.body().getString("call_id");
    if (callId != null && verifier.verifyLocal(message) != null) {
      servers.values().forEach(s -> s.cancel(callId));
    }
  }

  /** The caller's deadline ({@code timeout} header, ms) less a margin to answer in; the server's own bound applies too. */
  private static long timeoutMs(Message<?> message) {
    String header = message.headers().get("timeout");
    long ms = Long.MAX_VALUE;
    if (header != null) {
      try {
        ms = Long.parseLong(header.trim());
      } catch (NumberFormatException e) {
        // the server's timeout applies
      }
    }
    return Math.max(1, ms - ANSWER_MARGIN_MS);
  }
}
