package dev.agenthub.protocol;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.List;
import java.util.UUID;

/**
 * The tool door's event-bus contract: an agent instance asks its node's MCP verticle (local
 * consumers on every node) for the tools it may offer the model ({@link #TOOLS_ADDRESS}) and runs
 * one ({@link #ADDRESS}); a cancelled turn cuts its call short ({@link #CANCEL_ADDRESS}). Every
 * request is signed by the agent it names (a local signature), so the verticle applies that agent's
 * rules whatever the body claims. A tool's name is {@code mcp.<server>.<tool>}, the name agents list
 * in {@code skills} and the model calls ({@code mcp__<server>__<tool>} on a provider's wire).
 */
public final class ToolCall {

  /** Local address: run one tool, {@link Request} in, {@link Reply} out. */
  public static final String ADDRESS = "mcp.call";
  /** Local address: {@code {"agent"}} in, {@code {"tools":[OpenAI function tools]}} out. */
  public static final String TOOLS_ADDRESS = "mcp.tools";
  /** Local address: {@code {"call_id"}}, the call of a cancelled turn. */
  public static final String CANCEL_ADDRESS = "mcp.cancel";
  /** The prefix of every MCP tool's name. */
  public static final String PREFIX = "mcp.";
  /** The prefix of a tool call's id ({@link #newCallId()}), so a cancel knows which door it is for. */
  public static final String ID_PREFIX = "tool-";

  private ToolCall() {
  }

  /** A fresh id for one call. */
  public static String newCallId() {
    return ID_PREFIX + UUID.randomUUID();
  }

  /** Whether {@code name} names an MCP tool ({@code mcp.<server>.<tool>}). */
  public static boolean isMcp(String name) {
    return name != null && name.startsWith(PREFIX);
  }

  /**
   * Whether an agent whose {@code skills} list holds {@code skills} may call {@code tool}
   * ({@code mcp.<server>.<tool>}): listed by name, or its server listed as {@code mcp.<server>.*}.
   */
  public static boolean allowed(List<String> skills, String tool) {
    if (!isMcp(tool)) {
      return false;
    }
    int dot = tool.indexOf('.', PREFIX.length());
    if (dot < 0 || dot == tool.length() - 1) {
      return false;
    }
    return skills.contains(tool) || skills.contains(tool.substring(0, dot) + ".*");
  }

  /**
   * One tool call.
   *
   * @param agent     the calling agent (the call must be signed by it)
   * @param client    the API client the turn runs for, or null
   * @param session   the turn's session (for the audit line)
   * @param tool      {@code mcp.<server>.<tool>}
   * @param arguments the model's arguments
   * @param callId    the call's id ({@link #newCallId()}), to cancel it
   * @param approved  a person approved this very call (its turn was paused for it): a tool under
   *                  {@code approve} runs only then
   */
  public record Request(String agent, String client, String session, String tool, JsonObject arguments,
                        String callId, boolean approved) {

    public Request(String agent, String client, String session, String tool, JsonObject arguments, String callId) {
      this(agent, client, session, tool, arguments, callId, false);
    }

    public JsonObject toJson() {
      JsonObject json = new JsonObject().put("agent", agent).put("tool", tool)
        .put("arguments", arguments == null ? new JsonObject() : arguments).put("call_id", callId);
      if (approved) {
        json.put("approved", true);
      }
      if (client != null) {
        json.put("client", client);
      }
      if (session != null) {
        json.put("session", session);
      }
      return json;
    }

    public static Request fromJson(JsonObject json) {
      Object args = json.getValue("arguments");
      if (args != null && !(args instanceof JsonObject)) {
        throw new IllegalArgumentException("arguments must be an object");
      }
      String agent = json.getString("agent");
      String tool = json.getString("tool");
      if (agent == null || tool == null) {
        throw new IllegalArgumentException("agent and tool are required");
      }
      return new Request(agent, json.getString("client"), json.getString("session"), tool,
        args == null ? new JsonObject() : (JsonObject) args, json.getString("call_id"), json.getBoolean("approved", false));
    }
  }

  /**
   * What the model reads back.
   *
   * @param text     the result as text (a tool's error, a refusal, a timeout are results too)
   * @param error    whether it reports an error (the model is told so in the text)
   * @param approval the call was not made: its tool waits for a person's approval ({@code approve})
   *                 and the turn pauses; {@code approvalTimeoutMs} is how long it may wait
   */
  public record Reply(String text, boolean error, boolean approval, long approvalTimeoutMs) {

    public Reply(String text, boolean error) {
      this(text, error, false, 0);
    }

    /** The answer to a call of a tool that waits for approval. */
    public static Reply approvalRequired(long timeoutMs) {
      return new Reply("", false, true, timeoutMs);
    }

    public JsonObject toJson() {
      JsonObject json = new JsonObject().put("text", text).put("error", error);
      if (approval) {
        json.put("approval_required", true).put("approval_timeout_ms", approvalTimeoutMs);
      }
      return json;
    }

    public static Reply fromJson(JsonObject json) {
      return new Reply(json.getString("text", ""), json.getBoolean("error", false),
        json.getBoolean("approval_required", false), json.getLong("approval_timeout_ms", 0L));
    }
  }

  /** The tools of a {@link #TOOLS_ADDRESS} reply. */
  public static JsonArray tools(JsonObject reply) {
    return reply.getJsonArray("tools", new JsonArray());
  }
}
