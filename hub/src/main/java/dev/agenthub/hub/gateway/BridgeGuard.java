package dev.agenthub.hub.gateway;

import dev.agenthub.agents.AgentSpec;
import dev.agenthub.config.HubConfig;
import dev.agenthub.protocol.EventBusApi;

import io.vertx.core.json.JsonObject;

import java.util.Set;
import java.util.stream.Collectors;

/**
 * What the bridge lets through (a plain class: each {@link BridgeConnection} asks it). Inbound,
 * only a request ({@code send} with a reply address) to {@code agenthub.agents.<agent>}, and pings;
 * nothing is published. Outbound, a client may register only its own stream addresses (bound to its
 * token, {@link EventBusApi#streamAddress}); replies come back to the request's reply address. A request is rewritten before it goes on: only the API's headers pass, and it is
 * delivered to this node's door only ({@code localOnly}), so bridge traffic never goes round-robin to
 * another member and the client's token never crosses the cluster. The token itself is checked by
 * the door, as on HTTP.
 */
final class BridgeGuard {

  /** Set on every request that came through the bridge (whatever the client wrote there). */
  static final String DOOR_HEADER = "agenthub-door";

  /** A decision: allowed, or refused with the reason told to the client (never the token). */
  record Verdict(boolean allowed, int status, String reason) {
    static final Verdict OK = new Verdict(true, 0, null);

    static Verdict refuse(int status, String reason) {
      return new Verdict(false, status, reason);
    }
  }

  private final ClientAuth auth;
  private final Set<String> agents;
  private final long requestTimeoutMs;

  BridgeGuard(ClientAuth auth, Set<String> agents, long requestTimeoutMs) {
    this.auth = auth;
    this.agents = Set.copyOf(agents);
    this.requestTimeoutMs = requestTimeoutMs;
  }

  static BridgeGuard of(HubConfig config) {
    return new BridgeGuard(new ClientAuth(config.clients()),
      config.agents().stream().map(AgentSpec::id).collect(Collectors.toSet()), config.node().http().requestTimeoutMs());
  }

  /** Whether a connection from there is answered at all (a hub without clients answers its own machine only). */
  boolean answers(boolean loopback) {
    return loopback || !auth.open();
  }

  /**
   * Decides on one frame; an allowed request's headers are rewritten in {@code frame}.
   *
   * @param loopback whether the connection comes from this machine (a hub without clients answers
   *                 nothing else)
   */
  Verdict check(BridgeFrames.Type type, JsonObject frame, boolean loopback) {
    if (!answers(loopback)) {
      return Verdict.refuse(401, "this hub has no API clients configured and only answers its own machine");
    }
    return switch (type) {
      case PING -> Verdict.OK;
      case SEND -> send(frame);
      case REGISTER, UNREGISTER -> register(frame);
      case PUBLISH -> Verdict.refuse(403, "only 'send' to agenthub.agents.<agent> and 'register' of your own stream "
        + "address are allowed here, not '" + type.name().toLowerCase() + "'");
    };
  }

  private Verdict send(JsonObject frame) {
    String address = frame.getValue("address") instanceof String a ? a : null;
    String agent = EventBusApi.agentOf(address);
    if (agent == null && !EventBusApi.APPROVALS.equals(address)) {
      return Verdict.refuse(403, "only agenthub.agents.<agent> and agenthub.approvals can be reached through the "
        + "bridge");
    }
    if (agent != null && !agents.contains(agent)) {
      // answered here, so that a missing handler later means only "this node's door is not there now"
      return Verdict.refuse(404, "no agent '" + agent + "' on this hub");
    }
    if (!(frame.getValue("replyAddress") instanceof String reply) || reply.isBlank()) {
      return Verdict.refuse(400, "a message to an agent needs a 'replyAddress' for its answer");
    }
    JsonObject given = frame.getValue("headers") instanceof JsonObject h ? h : new JsonObject();
    JsonObject headers = new JsonObject();
    for (String name : new String[]{EventBusApi.AUTHORIZATION, EventBusApi.STREAM_TO, EventBusApi.STREAM_ID}) {
      if (given.getValue(name) instanceof String value) {
        headers.put(name, value);
      }
    }
    String streamTo = headers.getString(EventBusApi.STREAM_TO);
    if (streamTo != null
      && !EventBusApi.isStreamAddressOf(EventBusApi.bearerToken(headers.getString(EventBusApi.AUTHORIZATION)), streamTo)) {
      return Verdict.refuse(403, "'stream-to' must be one of this token's stream addresses");
    }
    // read as delivery options (BridgeFrames.delivery): delivery stays on this node, within a timeout of ours
    long timeout = given.getValue("timeout") instanceof Number n ? n.longValue() : requestTimeoutMs + 5_000;
    headers.put("localOnly", true).put("timeout", Math.max(1_000, Math.min(timeout, MessageRoutes.BATCH_TIMEOUT_MS)))
      .put(DOOR_HEADER, "bridge");
    frame.put("headers", headers);
    Object body = frame.getValue("body");
    if (!(body instanceof JsonObject) && !(body instanceof String)) {
      return Verdict.refuse(400, "the body must be a JSON object {\"session\", \"text\"}");
    }
    return Verdict.OK;
  }

  private Verdict register(JsonObject frame) {
    String address = frame.getValue("address") instanceof String a ? a : null;
    JsonObject headers = frame.getValue("headers") instanceof JsonObject h ? h : new JsonObject();
    String authorization = headers.getValue(EventBusApi.AUTHORIZATION) instanceof String s ? s : null;
    if (!auth.open() && auth.clientId(authorization) == null) {
      return Verdict.refuse(401, "registering a stream address needs a known token");
    }
    if (!EventBusApi.isStreamAddressOf(EventBusApi.bearerToken(authorization), address)) {
      return Verdict.refuse(403, "only this token's own stream addresses (agenthub.stream.<...>.<id>) can be "
        + "registered");
    }
    return Verdict.OK;
  }
}
