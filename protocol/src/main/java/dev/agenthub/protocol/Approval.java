package dev.agenthub.protocol;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.time.Instant;

/**
 * A tool call that waits for a person's decision, and the turn paused before it. An agent instance
 * writes it ({@link #pending}) to the cluster's map {@link #MAP} (a sensitive agent's to its node's
 * {@link #LOCAL_MAP}: its context never crosses the network) and into the session's transcript; the
 * turn answers with {@link #shown} ({@code 202} over HTTP). Whoever takes it out of the map first
 * decides it (a person through {@code POST /v1/approvals/{id}}, or the expiry as a denial), and the
 * session's owner continues the turn from it ({@link #resume}).
 */
public final class Approval {

  /** The cluster's map of pending approvals, by id. */
  public static final String MAP = "agenthub.approvals";
  /** A node's own map of its sensitive agents' pending approvals. */
  public static final String LOCAL_MAP = "agenthub.approvals.local";
  /** A reply's {@code status} while its turn waits. */
  public static final String STATUS = "approval_required";
  /** A reply's {@code finish_reason} while its turn waits. */
  public static final String FINISH = "approval_required";
  public static final String APPROVE = "approve";
  public static final String DENY = "deny";
  /** The decision of an approval nobody decided within its time. */
  public static final String EXPIRED = "expired";

  private Approval() {
  }

  /**
   * A pending approval as the map keeps it.
   *
   * @param messages   the turn's conversation at the pause (the model's tool-call step included)
   * @param toolCallId the model's id of the call that waits
   * @param later      the step's other tool calls, after this one, still to run
   * @param step       the turn's tool step at the pause
   */
  public static JsonObject pending(String id, String agent, String session, String client, String tool,
                                   JsonObject arguments, String toolCallId, JsonArray messages, JsonArray later,
                                   int step, long expiresAtMs) {
    JsonObject json = new JsonObject().put("id", id).put("agent", agent).put("session", session).put("tool", tool)
      .put("arguments", arguments).put("tool_call_id", toolCallId).put("messages", messages).put("later", later)
      .put("step", step).put("created", Instant.now().toString()).put("expires_ms", expiresAtMs);
    if (client != null) {
      json.put("client", client);
    }
    return json;
  }

  /** What a client is shown: {@code {id, agent, session, tool, arguments, created}}. */
  public static JsonObject shown(JsonObject pending) {
    return new JsonObject().put("id", pending.getString("id")).put("agent", pending.getString("agent"))
      .put("session", pending.getString("session")).put("tool", pending.getString("tool"))
      .put("arguments", pending.getJsonObject("arguments")).put("created", pending.getString("created"));
  }

  /** The {@code resume} of the turn that continues it: the pending approval and its decision. */
  public static JsonObject resume(JsonObject pending, String decision) {
    return pending.copy().put("decision", decision);
  }

  /** Whether it is past its time. */
  public static boolean expired(JsonObject pending, long nowMs) {
    return pending.getLong("expires_ms", Long.MAX_VALUE) <= nowMs;
  }
}
