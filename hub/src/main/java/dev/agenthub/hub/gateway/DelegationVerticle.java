package dev.agenthub.hub.gateway;

import dev.agenthub.protocol.Failure;
import dev.agenthub.protocol.Turn;

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

  private void refuse(Message<JsonObject> m, String from, String to, String why) {
    gw.metrics().refused("trust");
    gw.metrics().audit("delegation_refused", new JsonObject().put("from", from).put("to", to).put("reason", why));
    Failure.reply(m, new Failure(Failure.Kind.FORBIDDEN, why));
  }

  /** Whether the configured client may call {@code agent} (its list, all agents, or admin). */
  private boolean mayUse(String client, String agent) {
    return gw.config().clients().stream().filter(c -> c.id().equals(client)).findFirst()
      .map(c -> c.allAgents() || c.admin() || c.agents().contains(agent)).orElse(false);
  }

  @Override
  public Future<?> start() {
    consumer = vertx.eventBus().localConsumer(Turn.DELEGATE_ADDRESS, (Message<JsonObject> m) -> {
      if (!(((Message<?>) m).body() instanceof JsonObject body) || !(body.getValue("text") instanceof String)
        || !(body.getValue("session") instanceof String)) {
        Failure.reply(m, new Failure(Failure.Kind.BAD_REQUEST, "malformed delegation"));
        return;
      }
      String agent = body.getString("agent");
      if (agent == null || gw.config().agent(agent).isEmpty()) {
        Failure.reply(m, new Failure(Failure.Kind.BAD_REQUEST, "unknown agent '" + agent + "'"));
        return;
      }
      // who asks is proven, not declared: the delegating agent signed the request with its own key
      String from = body.getString("from");
      String principal = gw.verifier().verify(m);
      if (principal == null || !principal.equals(from)) {
        gw.metrics().refused("identity");
        gw.metrics().audit("identity_refused", new JsonObject().put("agent", from).put("to", "delegation"));
        Failure.reply(m, new Failure(Failure.Kind.FORBIDDEN, "the delegation is not signed by agent '" + from + "'"));
        return;
      }
      boolean fromSensitive = gw.config().agent(from).map(a -> a.sensitive()).orElse(false);
      boolean toSensitive = gw.config().agent(agent).orElseThrow().sensitive();
      if (fromSensitive != toSensitive) {
        // a sensitive agent's data never flows to a standard one, nor does a standard one reach into it
        refuse(m, from, agent, fromSensitive ? "a sensitive agent may delegate only to sensitive agents"
          : "a sensitive agent accepts delegations only from sensitive agents");
        return;
      }
      String client = body.getString("client");
      if (client != null && !mayUse(client, agent)) {
        refuse(m, from, agent, "client '" + client + "' may not use agent '" + agent + "'");
        return;
      }
      Turn.Request request = Turn.Request.of(body.getString("session"), body.getString("text"))
        .depth(body.getInteger("depth", 1)).client(client).build();
      gw.intake().dispatch(agent, request).onSuccess(m::reply)
        .onFailure(err -> Failure.reply(m, Failure.from(err, Failure.Kind.MODEL_ERROR, "delegation failed")));
    });
    return consumer.completion();
  }
}
