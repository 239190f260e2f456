package dev.agenthub.mcp.door;

import dev.agenthub.protocol.Failure;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.Json;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.IntConsumer;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The hub as an MCP server ("Contract: MCP door" in docs/ARCHITECTURE.md): {@code POST /mcp} and
 * {@code DELETE /mcp} of MCP's Streamable HTTP transport, revision 2025-06-18 (2025-11-25 and
 * 2025-03-26 clients get their own). One tool per agent the caller's token may use,
 * {@code ask_<agent>}, whose call is a turn of that agent through the node's {@link Intake}. HTTP
 * only carries the exchange ({@link Exchange}); who may call, and the turn, are the node's. One per
 * gateway, on its context; the sessions are the node's ({@link DoorSessions}).
 */
public final class McpDoor {

  /** The revision this door speaks, and answers a client that asks for one it does not know. */
  public static final String PROTOCOL = "2025-06-18";
  static final List<String> SUPPORTED = List.of("2025-11-25", PROTOCOL, "2025-03-26");
  public static final String SESSION_HEADER = "Mcp-Session-Id";
  public static final String VERSION_HEADER = "MCP-Protocol-Version";
  private static final Logger LOG = Logger.getLogger(McpDoor.class.getName());

  /** What the door needs from its node: the agents a token may use, and turns. */
  public interface Intake {
    /** The agents the caller may use, in the config's order (the caller was admitted to talk to agents). */
    List<Agent> agents(String authorization);

    /**
     * Asks {@code question.agent()}: the future is the hub's answer object ({@code reply}, {@code
     * model}, {@code usage}, ...) or fails with the turn's {@link Failure}.
     *
     * @param progress  hears the characters of the reply so far while the agent works (null: not asked for)
     * @param cancelled completes when the client cancels the call
     * @throws Failure before any turn, when the caller may not ask: {@code forbidden} or {@code
     *                 not_found} (then the tool does not exist for it), {@code bad_request} (the arguments)
     */
    Future<JsonObject> ask(Question question, IntConsumer progress, Future<Void> cancelled);
  }

  /** An agent as a tool: its id and what it is for (null: nothing said). */
  public record Agent(String id, String description) {
  }

  /** One call of {@code ask_<agent>}. */
  public record Question(String authorization, String agent, String session, String text, String idempotencyKey) {
  }

  /** One HTTP exchange on {@code /mcp}: the request's headers and body, and its answer. */
  public interface Exchange {
    /** A request header, or null. */
    String header(String name);

    /** The request's body (empty for none). */
    Buffer body();

    /** A whole answer: its status, extra headers and JSON body (null: no body). */
    void answer(int status, Map<String, String> headers, String json);

    /** Starts a 200 answer of server-sent events. */
    void startEvents();

    /** Writes part of the event stream. */
    void write(String events);

    /** Ends the event stream. */
    void end();
  }

  private final Intake intake;
  private final DoorSessions sessions;

  public McpDoor(Intake intake, DoorSessions sessions) {
    this.intake = intake;
    this.sessions = sessions;
  }

  /**
   * MCP's rule against DNS rebinding: a request from a web page ({@code Origin}) is served only when
   * the page came from this machine (loopback); a request without {@code Origin} (not from a browser)
   * passes.
   *
   * @throws Failure {@code forbidden} for any other origin
   */
  public static void checkOrigin(String origin) {
    if (origin == null) {
      return;
    }
    String host = null;
    try {
      host = new URI(origin.strip()).getHost();
    } catch (URISyntaxException e) {
      // not an origin: refused below
    }
    host = host == null ? "" : host.toLowerCase(Locale.ROOT);
    if (!(host.equals("localhost") || host.startsWith("127.") && host.matches("[0-9.]+") || host.equals("[::1]"))) {
      throw new Failure(Failure.Kind.FORBIDDEN, "Origin '" + origin + "' may not use /mcp: only pages served from "
        + "this machine may (DNS rebinding protection)");
    }
  }

  /** {@code POST /mcp}: one JSON-RPC message. */
  public void post(Exchange ex) {
    if (!supportedVersion(ex)) {
      return;
    }
    Object body;
    try {
      body = Json.decodeValue(ex.body());
    } catch (DecodeException | NullPointerException e) {
      body = null;
    }
    if (body == null) {
      reject(ex, 400, null, JsonRpc.PARSE_ERROR, "Parse error: the body is not JSON");
      return;
    }
    if (body instanceof JsonArray) {
      reject(ex, 400, null, JsonRpc.INVALID_REQUEST, "Invalid Request: batches are not supported (revision " + PROTOCOL
        + ")");
      return;
    }
    Object id = body instanceof JsonObject m ? m.getValue("id") : null;
    if (!(body instanceof JsonObject m) || !"2.0".equals(m.getValue("jsonrpc")) || id != null && !JsonRpc.validId(id)
      || m.getValue("method") != null && !(m.getValue("method") instanceof String)
      || m.getValue("method") == null && id == null) {
      reject(ex, 400, JsonRpc.validId(id) ? id : null, JsonRpc.INVALID_REQUEST, "Invalid Request: not a JSON-RPC 2.0 "
        + "request, notification or response");
      return;
    }
    String method = m.getString("method");
    try {
      if ("initialize".equals(method) && id != null) {
        initialize(ex, id, m.getValue("params"));
        return;
      }
      DoorSessions.Session session = session(ex);
      if (session == null) {
        return;
      }
      if (method == null || id == null) {
        notified(session, method, m.getValue("params"));
        ex.answer(202, Map.of(), null); // a notification, or an answer to a request we never send
        return;
      }
      request(ex, session, id, method, m.getValue("params"));
    } catch (Failure f) {
      reject(ex, 200, id, f.kind() == Failure.Kind.BAD_REQUEST ? JsonRpc.INVALID_PARAMS : JsonRpc.INTERNAL_ERROR,
        f.getMessage());
    } catch (RuntimeException e) {
      LOG.log(Level.WARNING, "mcp " + method + " failed", e);
      reject(ex, 200, id, JsonRpc.INTERNAL_ERROR, "internal error");
    }
  }

  /** {@code DELETE /mcp}: the client ends its session; its calls on their way are cancelled. */
  public void delete(Exchange ex) {
    String id = ex.header(SESSION_HEADER);
    if (!supportedVersion(ex)) {
      return;
    }
    if (id == null) {
      reject(ex, 400, null, JsonRpc.BAD_REQUEST, "Bad Request: " + SESSION_HEADER + " header is required");
    } else if (!sessions.close(id, DoorSessions.owner(ex.header("Authorization")))) {
      reject(ex, 404, null, JsonRpc.SESSION_NOT_FOUND, "Session not found");
    } else {
      ex.answer(204, Map.of(), null);
    }
  }

  /** Whether the request's {@code MCP-Protocol-Version}, if it has one, is a revision of ours; else answered 400. */
  private static boolean supportedVersion(Exchange ex) {
    String version = ex.header(VERSION_HEADER);
    if (version != null && !SUPPORTED.contains(version.strip())) {
      reject(ex, 400, null, JsonRpc.BAD_REQUEST, "Bad Request: unsupported " + VERSION_HEADER + " '" + version
        + "' (supported: " + String.join(", ", SUPPORTED) + ")");
      return false;
    }
    return true;
  }

  private void initialize(Exchange ex, Object id, Object params) {
    if (!(params instanceof JsonObject p) || !(p.getValue("protocolVersion") instanceof String asked)) {
      reject(ex, 200, id, JsonRpc.INVALID_PARAMS, "Invalid params: initialize needs 'protocolVersion'");
      return;
    }
    String version = SUPPORTED.contains(asked) ? asked : PROTOCOL;
    DoorSessions.Session s = sessions.open(DoorSessions.owner(ex.header("Authorization")), version);
    if (s == null) {
      ex.answer(503, Map.of("Retry-After", "60"), JsonRpc.error(id, JsonRpc.BAD_REQUEST, "this node holds "
        + DoorSessions.MAX + " MCP sessions already; try again later or end unused ones (DELETE /mcp)").encode());
      return;
    }
    JsonObject result = new JsonObject().put("protocolVersion", version)
      .put("capabilities", new JsonObject().put("tools", new JsonObject().put("listChanged", false)))
      .put("serverInfo", new JsonObject().put("name", "agenthub").put("version", "0.1.0"))
      .put("instructions", "Each tool ask_<agent> sends 'text' to that agent of this agenthub and returns its reply. "
        + "Calls without 'session' continue one conversation per MCP session; give 'session' to keep another.");
    ex.answer(200, Map.of(SESSION_HEADER, s.id), JsonRpc.result(id, result).encode());
  }

  /** The caller's live session, or null once the exchange is answered 400 (none named) or 404. */
  private DoorSessions.Session session(Exchange ex) {
    String id = ex.header(SESSION_HEADER);
    if (id == null) {
      reject(ex, 400, null, JsonRpc.BAD_REQUEST, "Bad Request: " + SESSION_HEADER + " header is required "
        + "(initialize first)");
      return null;
    }
    DoorSessions.Session s = sessions.find(id, DoorSessions.owner(ex.header("Authorization")));
    if (s == null) {
      reject(ex, 404, null, JsonRpc.SESSION_NOT_FOUND, "Session not found");
    }
    return s;
  }

  private void notified(DoorSessions.Session session, String method, Object params) {
    if ("notifications/cancelled".equals(method) && params instanceof JsonObject p
      && JsonRpc.validId(p.getValue("requestId"))) {
      session.cancel(JsonRpc.key(p.getValue("requestId")));
    }
  }

  private void request(Exchange ex, DoorSessions.Session session, Object id, String method, Object params) {
    if (params != null && !(params instanceof JsonObject)) {
      reject(ex, 200, id, JsonRpc.INVALID_PARAMS, "Invalid params: 'params' must be an object");
      return;
    }
    JsonObject p = params == null ? new JsonObject() : (JsonObject) params;
    switch (method) {
      case "ping" -> ex.answer(200, Map.of(), JsonRpc.result(id, new JsonObject()).encode());
      case "tools/list" -> {
        if (p.getValue("cursor") != null) {
          reject(ex, 200, id, JsonRpc.INVALID_PARAMS, "Invalid params: unknown cursor (the tools come in one page)");
          return;
        }
        JsonArray tools = new JsonArray();
        intake.agents(ex.header("Authorization")).forEach(a -> tools.add(AgentTools.tool(a)));
        ex.answer(200, Map.of(), JsonRpc.result(id, new JsonObject().put("tools", tools)).encode());
      }
      case "tools/call" -> call(ex, session, id, p);
      default -> reject(ex, 200, id, JsonRpc.METHOD_NOT_FOUND, "Method not found: " + method);
    }
  }

  private void call(Exchange ex, DoorSessions.Session session, Object id, JsonObject p) {
    String name = p.getValue("name") instanceof String n ? n : null;
    Object arguments = p.getValue("arguments");
    JsonObject args = arguments instanceof JsonObject a ? a : new JsonObject();
    String problem = name == null ? "'name' must be a tool's name"
      : arguments != null && !(arguments instanceof JsonObject) ? "'arguments' must be an object"
      : AgentTools.problem(args);
    if (problem != null) {
      reject(ex, 200, id, JsonRpc.INVALID_PARAMS, "Invalid params: " + problem);
      return;
    }
    if (!name.startsWith(AgentTools.PREFIX)) {
      reject(ex, 200, id, JsonRpc.INVALID_PARAMS, "Unknown tool: " + name);
      return;
    }
    JsonObject meta = p.getValue("_meta") instanceof JsonObject o ? o : new JsonObject();
    Object token = JsonRpc.validId(meta.getValue("progressToken")) ? meta.getValue("progressToken") : null;
    String accept = ex.header("Accept");
    boolean events = token != null && accept != null && accept.contains("text/event-stream");
    String agent = name.substring(AgentTools.PREFIX.length());
    String key = AgentTools.idempotencyKey(meta, session, id);
    if (key == null) {
      reject(ex, 200, id, JsonRpc.INVALID_PARAMS, "Invalid params: _meta '" + AgentTools.KEY_META + "' must be a string "
        + "of 1-" + AgentTools.MAX_KEY + " characters");
      return;
    }
    String agentSession = args.getString("session") != null ? args.getString("session") : session.agentSession();
    Question question = new Question(ex.header("Authorization"), agent, agentSession, args.getString("text"), key);
    AskCall call = new AskCall(ex, id, events ? token : null, agent);
    Future<JsonObject> turn;
    try {
      turn = intake.ask(question, events ? call::progress : null, call.cancelled());
    } catch (Failure f) {
      switch (f.kind()) {
        case FORBIDDEN, NOT_FOUND -> reject(ex, 200, id, JsonRpc.INVALID_PARAMS, "Unknown tool: " + name);
        case BAD_REQUEST -> reject(ex, 200, id, JsonRpc.INVALID_PARAMS, "Invalid params: " + f.getMessage());
        default -> ex.answer(200, Map.of(), JsonRpc.result(id, AskCall.failed(f)).encode());
      }
      return;
    }
    String callKey = JsonRpc.key(id);
    Runnable cancel = call::cancel;
    session.track(callKey, cancel);
    call.start();
    turn.onComplete(ar -> {
      session.untrack(callKey, cancel);
      call.finish(ar);
    });
  }

  private static void reject(Exchange ex, int status, Object id, int code, String message) {
    ex.answer(status, Map.of(), JsonRpc.error(id, code, message).encode());
  }
}
