package dev.agenthub.agents;

import dev.agenthub.memory.MemoryClient;
import dev.agenthub.memory.MemoryLayout;
import dev.agenthub.protocol.AgentEvents;
import dev.agenthub.protocol.Failure;
import dev.agenthub.protocol.Hashes;
import dev.agenthub.protocol.MessageAuth;
import dev.agenthub.protocol.ToolCall;
import dev.agenthub.protocol.Turn;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.net.URI;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Locale;
import java.util.logging.Logger;

/**
 * The built-in skills, offered to the model as JSON-schema tools and run when it calls them, but
 * only those in the agent's {@code skills} allowlist: any other call is refused, logged, counted and
 * answered to the model as an error, whatever the prompt said. Results are text for the model.
 */
final class Skills {

  static final int MAX_DELEGATION_DEPTH = 3;
  /** How long listing the MCP tools may take before a step goes on without them. */
  static final long MCP_LIST_TIMEOUT_MS = 30_000;
  private static final int MAX_RESULT_CHARS = 8_000;
  private static final int MAX_FETCH_BYTES = 32 * 1024;
  private static final Logger LOG = Logger.getLogger(Skills.class.getName());

  /**
   * Where a skill runs: the turn's session, its delegation depth and its deadline.
   *
   * @param client the API client the turn runs for (null without clients): its transcripts only
   */
  record Call(String session, int depth, long deadlineNanos, String client, TurnControl control) {
    Call(String session, int depth, long deadlineNanos) {
      this(session, depth, deadlineNanos, null, null);
    }

    Call(String session, int depth, long deadlineNanos, String client) {
      this(session, depth, deadlineNanos, client, null);
    }

    long remainingMs() {
      return Math.max(1, (deadlineNanos - System.nanoTime()) / 1_000_000);
    }
  }

  private final Vertx vertx;
  private final AgentSpec spec;
  private final MemoryClient memory;
  private final AgentEvents events;
  private HttpClient http;

  private final MessageAuth.Signer signer;

  /** @param signer signs a delegation as this agent: the delegating side proves who asks */
  Skills(Vertx vertx, AgentSpec spec, MemoryClient memory, AgentEvents events, MessageAuth.Signer signer) {
    this.signer = signer;
    this.vertx = vertx;
    this.spec = spec;
    this.memory = memory;
    this.events = events;
  }

  /**
   * The tools this agent offers the model: its allowlisted built-in skills (built once; callers never
   * change the array), then the MCP tools its {@code skills} name, as the node's tool door lists them
   * now (a server's tools may change between turns).
   */
  Future<JsonArray> tools() {
    if (tools == null) {
      JsonArray built = new JsonArray();
      spec.skills().stream().sorted().forEach(s -> Skill.of(s).ifPresent(skill -> built.add(skill.schema())));
      tools = built;
      usesMcp = spec.skills().stream().anyMatch(ToolCall::isMcp);
    }
    if (!usesMcp) {
      return Future.succeededFuture(tools);
    }
    JsonObject ask = new JsonObject().put("agent", spec.id());
    return vertx.eventBus().<JsonObject>request(ToolCall.TOOLS_ADDRESS, ask,
        signer.signLocal(ToolCall.TOOLS_ADDRESS, new DeliveryOptions().setSendTimeout(MCP_LIST_TIMEOUT_MS)))
      .map(reply -> {
        JsonArray all = tools.copy();
        ToolCall.tools(reply.body()).forEach(all::add);
        return all;
      })
      .recover(err -> {
        LOG.warning("agent " + spec.id() + ": no MCP tools this step (" + err.getMessage() + ")");
        return Future.succeededFuture(tools);
      });
  }

  private JsonArray tools;
  private boolean usesMcp;

  /**
   * Runs one tool call; never fails: errors and refusals are results the model reads. A sensitive
   * agent runs only sensitive-safe skills, whatever its configuration says.
   */
  Future<String> run(String name, JsonObject args, Call call) {
    return run(name, args, call, false);
  }

  /**
   * @param approved a person approved this very call (its turn paused for it); otherwise a tool under
   *                 {@code approve} is not called and the future fails with {@link ApprovalRequired}
   */
  Future<String> run(String name, JsonObject args, Call call, boolean approved) {
    if (ToolCall.isMcp(name)) {
      return mcp(name, args, call, approved);
    }
    Skill skill = Skill.of(name).orElse(null);
    if (!spec.skills().contains(name) || spec.sensitive() && (skill == null || !skill.sensitiveSafe())) {
      events.skill(spec.id(), String.valueOf(name), "refused");
      LOG.warning("agent " + spec.id() + ": refused skill '" + name + "' (not in its allowlist), session "
        + call.session());
      return Future.succeededFuture("error: skill '" + name + "' is not allowed for this agent");
    }
    Future<String> result;
    try {
      result = skill == null ? Future.failedFuture(new IllegalArgumentException("unknown skill"))
        : run(skill, args, call);
    } catch (RuntimeException e) {
      result = Future.failedFuture(e);
    }
    return result.map(text -> {
      events.skill(spec.id(), name, "ok");
      return text.length() > MAX_RESULT_CHARS ? text.substring(0, MAX_RESULT_CHARS) + "\n[truncated]" : text;
    }).recover(err -> {
      events.skill(spec.id(), name, "error");
      return Future.succeededFuture(toolError(err));
    });
  }

  /**
   * An MCP tool, run by the node's tool door, which checks again that this agent may call it; a
   * tool not in this agent's list never leaves here. The call's id goes to {@code control} so a
   * cancelled turn cuts it short.
   */
  private Future<String> mcp(String name, JsonObject args, Call call, boolean approved) {
    if (!ToolCall.allowed(spec.skills(), name)) {
      events.skill(spec.id(), name, "refused");
      LOG.warning("agent " + spec.id() + ": refused tool '" + name + "' (not in its skills), session " + call.session());
      return Future.succeededFuture("error: tool '" + name + "' is not allowed for this agent");
    }
    String callId = ToolCall.newCallId();
    if (call.control() != null) {
      call.control().calling(callId);
    }
    long timeout = call.remainingMs();
    JsonObject body = new ToolCall.Request(spec.id(), call.client(), call.session(), name, args, callId, approved)
      .toJson();
    return vertx.eventBus().<JsonObject>request(ToolCall.ADDRESS, body,
        signer.signLocal(ToolCall.ADDRESS, new DeliveryOptions().setSendTimeout(timeout)
          .addHeader("timeout", Long.toString(timeout))))
      .compose(reply -> {
        ToolCall.Reply r = ToolCall.Reply.fromJson(reply.body());
        if (r.approval()) {
          return Future.failedFuture(new ApprovalRequired(r.approvalTimeoutMs()));
        }
        events.skill(spec.id(), name, r.error() ? "error" : "ok");
        return Future.succeededFuture(r.text());
      })
      .recover(err -> {
        if (err instanceof ApprovalRequired) {
          return Future.failedFuture(err);
        }
        events.skill(spec.id(), name, "error");
        return Future.succeededFuture(toolError(err));
      })
      .onComplete(ar -> {
        if (call.control() != null) {
          call.control().calling(null);
        }
      });
  }

  /** The tool door did not make the call: its tool waits for a person's approval. */
  static final class ApprovalRequired extends RuntimeException {
    final long timeoutMs;

    ApprovalRequired(long timeoutMs) {
      super("the call waits for approval", null, false, false);
      this.timeoutMs = timeoutMs;
    }
  }

  private Future<String> run(Skill skill, JsonObject args, Call call) {
    return switch (skill) {
      case MEMORY_READ -> read(args, call);
      case MEMORY_APPEND -> memory.append(own(str(args, "path")), spec.id(), str(args, "text"))
        .map(r -> "appended to " + r.getString("path") + " (" + r.getLong("bytes") + " bytes)");
      case MEMORY_SEARCH -> memory.search(str(args, "query"), false, args.getString("prefix"))
        .map(json -> hits(visibleHits(json, call)));
      case TIME_NOW -> Future.succeededFuture(Instant.now().truncatedTo(ChronoUnit.SECONDS) + " (UTC)");
      case AGENT_DELEGATE -> delegate(args, call);
      case HTTP_FETCH -> fetch(str(args, "url"), call);
    };
  }

  /**
   * A failed skill as its tool result, the model's edge of {@link Failure}: {@code error: } and the
   * message, with the failure's kind when it has one ({@code error: ... (forbidden)}).
   */
  static String toolError(Throwable err) {
    String message = err.getMessage() == null ? err.getClass().getSimpleName() : err.getMessage();
    return err instanceof Failure f ? "error: " + message + " (" + f.kind().id() + ")" : "error: " + message;
  }

  private Future<String> read(JsonObject args, Call call) {
    String path = own(str(args, "path"));
    if (!visible(path, call)) {
      events.skill(spec.id(), Skill.MEMORY_READ.id(), "refused");
      return Future.failedFuture(new IllegalStateException("another client's session transcript is not readable here"));
    }
    String section = args.getString("section");
    return section == null ? memory.read(path) : memory.readSection(path, section);
  }

  private Future<String> delegate(JsonObject args, Call call) {
    String target = str(args, "agent");
    if (target.equals(spec.id())) {
      return Future.failedFuture(new IllegalArgumentException("an agent cannot delegate to itself"));
    }
    if (call.depth() + 1 > MAX_DELEGATION_DEPTH) {
      return Future.failedFuture(new IllegalStateException("delegation deeper than " + MAX_DELEGATION_DEPTH
        + " hops refused (a loop between agents?)"));
    }
    // a session of its own per asking session (and client), so the other agent keeps the thread of the
    // conversation; named by a hash no two asking sessions share
    String session = "delegate-" + spec.id() + "-" + Hashes.sha256Hex((call.client() == null ? "" : call.client()) + "\u0000"
      + call.session()).substring(0, 32);
    JsonObject body = new JsonObject().put("agent", target).put("session", session).put("text", str(args, "text"))
      .put("depth", call.depth() + 1).put("from", spec.id());
    if (call.client() != null) {
      body.put("client", call.client());
    }
    return vertx.eventBus().<JsonObject>request(Turn.DELEGATE_ADDRESS, body,
        signer.sign(Turn.DELEGATE_ADDRESS, body, new DeliveryOptions().setSendTimeout(call.remainingMs())))
      .map(reply -> reply.body().getString("reply"));
  }

  private Future<String> fetch(String url, Call call) {
    URI uri;
    try {
      uri = URI.create(url);
    } catch (IllegalArgumentException e) {
      return Future.failedFuture(new IllegalArgumentException("not a URL: " + url));
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    String host = uri.getHost() == null ? "" : uri.getHost().toLowerCase(Locale.ROOT);
    if (!scheme.equals("http") && !scheme.equals("https")) {
      return Future.failedFuture(new IllegalArgumentException("only http and https URLs"));
    }
    if (spec.httpHosts().stream().noneMatch(h -> h.equalsIgnoreCase(host))) {
      events.skill(spec.id(), Skill.HTTP_FETCH.id(), "refused");
      return Future.failedFuture(new IllegalArgumentException("host '" + host + "' is not one this agent may reach"));
    }
    if (http == null) {
      http = vertx.createHttpClient();
    }
    int port = uri.getPort() > 0 ? uri.getPort() : scheme.equals("https") ? 443 : 80;
    String path = (uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath())
      + (uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery());
    RequestOptions options = new RequestOptions().setMethod(HttpMethod.GET).setHost(host).setPort(port)
      .setSsl(scheme.equals("https")).setURI(path).setTimeout(Math.min(10_000, call.remainingMs()))
      .setFollowRedirects(false);
    return http.request(options).compose(req -> req.send()).compose(resp -> {
      Buffer body = Buffer.buffer();
      resp.handler(chunk -> {
        if (body.length() < MAX_FETCH_BYTES) {
          body.appendBuffer(chunk.length() + body.length() > MAX_FETCH_BYTES
            ? chunk.getBuffer(0, MAX_FETCH_BYTES - body.length()) : chunk);
        }
      });
      return resp.end().map(v -> "HTTP " + resp.statusCode() + "\n" + body.toString());
    });
  }

  /**
   * In a turn on behalf of client C, transcripts are C's alone: no path into another client's
   * sessions (nor the sessions of a hub without clients) is readable.
   */
  static boolean visible(String path, Call call) {
    return call.client() == null || !MemoryLayout.inSessions(path)
      || call.client().equals(MemoryLayout.sessionClient(path));
  }

  private static JsonObject visibleHits(JsonObject json, Call call) {
    JsonArray kept = new JsonArray();
    JsonArray hits = json.getJsonArray("hits", new JsonArray());
    for (int i = 0; i < hits.size(); i++) {
      if (visible(hits.getJsonObject(i).getString("path", ""), call)) {
        kept.add(hits.getJsonObject(i));
      }
    }
    return json.copy().put("hits", kept);
  }

  private String own(String path) {
    return MemoryLayout.ownPath(spec.id(), path);
  }

  private static String hits(JsonObject json) {
    JsonArray hits = json.getJsonArray("hits");
    if (hits.isEmpty()) {
      return "no matches";
    }
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < hits.size(); i++) {
      JsonObject h = hits.getJsonObject(i);
      sb.append(h.getString("path")).append(':').append(h.getInteger("line")).append(": ")
        .append(h.getString("excerpt")).append('\n');
    }
    return sb.toString();
  }

  private static String str(JsonObject args, String key) {
    Object v = args.getValue(key);
    if (!(v instanceof String s) || s.isBlank()) {
      throw new IllegalArgumentException("argument '" + key + "' (a string) is required");
    }
    return s;
  }
}
