package dev.agenthub.agents;

import dev.agenthub.protocol.AgentEvents;
import dev.agenthub.protocol.Failure;
import dev.agenthub.protocol.MessageAuth;
import dev.agenthub.protocol.Turn;

import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonObject;

import java.util.logging.Logger;

/**
 * What a message to an instance's address asks, checked before anything runs: a turn to run, a turn
 * to cancel, or nothing but a refusal. Only a node may send either (an agent's own key cannot start
 * a turn past the client checks), and a turn needs a session and a text.
 */
final class IncomingTurns {

  /** The header of a turn sent again after the node running it died. */
  private static final Logger LOG = Logger.getLogger(IncomingTurns.class.getName());

  /** What a message asks: one of {@link Run}, {@link Cancel}, {@link Refused}. */
  sealed interface Ask permits Run, Cancel, Refused {
  }

  /** Run this turn; {@code resent}: it was sent again after the node running it died. */
  record Run(Turn.Request request, boolean resent) implements Ask {
  }

  /** Cancel the turn of this key ({@link Turn.Request#turnKey()}; null names none). */
  record Cancel(String turnKey) implements Ask {
  }

  /** Answer this failure, and do nothing else. */
  record Refused(Failure failure) implements Ask {
  }

  private final String agent;
  private final MessageAuth.Verifier nodes;
  private final AgentEvents events;

  /**
   * @param nodes checks that a message was signed by a node ({@link MessageAuth}) for this address,
   *              once; null accepts unsigned messages (tests that drive an instance directly)
   */
  IncomingTurns(String agent, MessageAuth.Verifier nodes, AgentEvents events) {
    this.agent = agent;
    this.nodes = nodes;
    this.events = events;
  }

  Ask read(Message<JsonObject> message) {
    if (nodes != null && !fromNode(message)) {
      LOG.warning("agent " + agent + ": refused a turn not signed by a node (unsigned, forged, replayed or stale)");
      events.refused(agent, "identity");
      return new Refused(new Failure(Failure.Kind.FORBIDDEN, "turns on agent addresses must be signed by a hub node"));
    }
    Turn.Request request;
    try {
      request = Turn.Request.fromJson(message.body());
    } catch (RuntimeException e) {
      return message.headers().contains(Turn.CANCEL_HEADER) ? new Cancel(null)
        : new Refused(new Failure(Failure.Kind.BAD_REQUEST, "malformed turn"));
    }
    if (message.headers().contains(Turn.CANCEL_HEADER)) {
      // the body names the turn ({"session", "idempotency_key", "client"}): it has no text
      return new Cancel(request.turnKey());
    }
    if (request.session() == null || request.text() == null) {
      return new Refused(new Failure(Failure.Kind.BAD_REQUEST, "session and text are required"));
    }
    return new Run(request, message.headers().contains(Turn.RESEND_HEADER));
  }

  private boolean fromNode(Message<?> message) {
    String principal = nodes.verifyLocal(message);
    return principal != null && principal.startsWith(MessageAuth.nodePrincipal(""));
  }
}
