package dev.agenthub.hub.gateway;

import dev.agenthub.agents.Turn;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;

/**
 * Serves {@link Turn#DELEGATE_ADDRESS} on every node: an agent asking another agent is routed like a
 * user's message (rendezvous over the target's live instances, anywhere in the cluster), with the
 * delegation depth carried along so loops end.
 */
public final class DelegationVerticle extends VerticleBase {

  private final GatewayContext gw;
  private MessageConsumer<JsonObject> consumer;

  public DelegationVerticle(GatewayContext gw) {
    this.gw = gw;
  }

  @Override
  public Future<?> start() {
    TurnDispatcher dispatcher = new TurnDispatcher(vertx, gw.view(), gw.config().node().http().requestTimeoutMs());
    vertx.setPeriodic(250, id -> dispatcher.resendOrphans());
    consumer = vertx.eventBus().localConsumer(Turn.DELEGATE_ADDRESS, (Message<JsonObject> m) -> {
      if (!(((Message<?>) m).body() instanceof JsonObject body) || !(body.getValue("text") instanceof String)
        || !(body.getValue("session") instanceof String)) {
        m.fail(Turn.Failure.BAD_REQUEST, "malformed delegation");
        return;
      }
      String agent = body.getString("agent");
      if (agent == null || gw.config().agent(agent).isEmpty()) {
        m.fail(Turn.Failure.BAD_REQUEST, "unknown agent '" + agent + "'");
        return;
      }
      boolean fromSensitive = gw.config().agent(body.getString("from", "")).map(a -> a.sensitive()).orElse(false);
      if (fromSensitive && !gw.config().agent(agent).orElseThrow().sensitive()) {
        gw.metrics().refused("trust");
        gw.metrics().audit("delegation_refused", new JsonObject().put("from", body.getString("from")).put("to", agent));
        m.fail(403, "a sensitive agent may delegate only to sensitive agents");
        return;
      }
      Turn.Request request = new Turn.Request(body.getString("session"), body.getString("text"), null, "interactive",
        null, body.getInteger("depth", 1));
      dispatcher.dispatch(agent, request).onSuccess(m::reply).onFailure(err -> {
        int status = err instanceof ApiError e ? e.status : Turn.Failure.MODEL_ERROR;
        m.fail(status, err.getMessage() == null ? "delegation failed" : err.getMessage());
      });
    });
    return consumer.completion();
  }
}
