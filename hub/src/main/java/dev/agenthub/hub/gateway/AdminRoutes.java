package dev.agenthub.hub.gateway;

import dev.agenthub.agents.AgentSpec;
import dev.agenthub.governor.GovernorVerticle;
import dev.agenthub.governor.ledger.LedgerVerticle;
import dev.agenthub.hub.cluster.ClusterView;
import dev.agenthub.hub.cluster.NodeEntry;
import dev.agenthub.protocol.Failure;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

/**
 * The routes about the hub rather than a conversation: agents, cluster, spend, keys, health,
 * metrics and the dashboard's event stream; each checks the right the caller needs.
 */
final class AdminRoutes {

  private final Vertx vertx;
  private final GatewayContext gw;
  private final ClientAuth auth;
  private final Dashboard dashboard;

  AdminRoutes(Vertx vertx, GatewayContext gw, ClientAuth auth, Dashboard dashboard) {
    this.vertx = vertx;
    this.gw = gw;
    this.auth = auth;
    this.dashboard = dashboard;
  }

  /** {@code GET /v1/agents}: any client that talks to agents (not a scrape-only token). */
  void agents(RoutingContext ctx) {
    auth.checkAgent(ctx.request().getHeader("Authorization"), null);
    ClusterView view = gw.view().get();
    JsonArray out = new JsonArray();
    for (AgentSpec spec : gw.config().agents()) {
      JsonArray running = new JsonArray();
      for (NodeEntry.Placement p : view.instancesOf(spec.id())) {
        running.add(new JsonObject().put("instance", p.id()).put("node", p.node()));
      }
      out.add(new JsonObject()
        .put("id", spec.id())
        .put("trust", spec.trust().id())
        .put("skills", new JsonArray(spec.skills()))
        .put("models", new JsonObject().put("routine", spec.routineModel()).put("complex", spec.complexModel()))
        .put("roles", new JsonArray(spec.roles()))
        .put("instances", spec.instances())
        .put("running", running));
    }
    Replies.json(ctx, 200, new JsonObject().put("agents", out));
  }

  void cluster(RoutingContext ctx) {
    auth.checkAdmin(ctx.request().getHeader("Authorization"));
    JsonObject body = gw.view().get().toJson().put("intruders", new JsonArray(gw.intruders().get()));
    JsonObject writer = gw.memoryWriter().get();
    // writes "held": no writer answers, or it cannot reach enough in-sync copies
    body.put("memory", writer == null ? new JsonObject().putNull("writer").put("writes", "held")
      : writer.copy().put("writes", "held".equals(writer.getString("writes")) ? "held" : "ok"));
    Replies.json(ctx, 200, body);
  }

  /**
   * {@code GET /v1/spend}: the whole cluster's for an admin; for another client, its own spend and
   * the budgets that apply to it alone (its {@code client:<id>} budget).
   */
  void spend(RoutingContext ctx) {
    String authorization = ctx.request().getHeader("Authorization");
    auth.checkTalksToAgents(authorization);
    boolean admin = auth.admin(authorization);
    String client = admin ? null : auth.clientId(authorization);
    JsonObject ask = new JsonObject();
    vertx.eventBus().<JsonObject>request(LedgerVerticle.SPEND, ask, gw.signer().sign(LedgerVerticle.SPEND, ask, null))
      .onSuccess(m -> Replies.json(ctx, 200, admin ? m.body() : ownSpend(m.body(), client)))
      .onFailure(err -> ctx.fail(new Failure(Failure.Kind.UNAVAILABLE, "spend is not available right now", 1L)));
  }

  private static JsonObject ownSpend(JsonObject spend, String client) {
    JsonArray budgets = new JsonArray();
    for (Object b : spend.getJsonArray("budgets", new JsonArray())) {
      if (("client:" + client).equals(((JsonObject) b).getString("scope"))) {
        budgets.add(b);
      }
    }
    return new JsonObject().put("month", spend.getString("month")).put("client", client)
      .put("month_to_date_usd", spend.getJsonObject("by_client", new JsonObject()).getDouble(client, 0.0))
      .put("budgets", budgets);
  }

  /** {@code POST /v1/keys/{provider}/{key}/enable}: puts a key taken out of the pool back, on every node. */
  void enableKey(RoutingContext ctx) {
    auth.checkAdmin(ctx.request().getHeader("Authorization"));
    String provider = ctx.pathParam("provider");
    String key = ctx.pathParam("key");
    var p = gw.config().providers().get(provider);
    if (p == null || p.keys().stream().noneMatch(k -> k.id().equals(key))) {
      throw new Failure(Failure.Kind.NOT_FOUND, "no key '" + key + "' in provider '" + provider + "'");
    }
    JsonObject enable = new JsonObject().put("provider", provider).put("key", key);
    // signed by this node: every governor checks it, and no token travels with it
    vertx.eventBus().publish(GovernorVerticle.ENABLE_KEY, enable, gw.signer().sign(GovernorVerticle.ENABLE_KEY,
      enable, null));
    Replies.json(ctx, 200, new JsonObject().put("provider", provider).put("key", key).put("enabled", true));
  }

  void ready(RoutingContext ctx) {
    JsonObject checks = new JsonObject();
    JsonObject reasons = new JsonObject();
    boolean up = true;
    for (var check : gw.ready().entrySet()) {
      // a check that can say why is asked once, so its verdict and its reason are of one moment
      ReadinessCheck explained = check.getValue() instanceof ReadinessCheck r ? r : null;
      String why = explained == null ? null : explained.down();
      boolean ok = explained == null ? check.getValue().getAsBoolean() : why == null;
      checks.put(check.getKey(), ok ? "UP" : "DOWN");
      if (why != null) {
        reasons.put(check.getKey(), why);
      }
      up &= ok;
    }
    JsonObject body = new JsonObject().put("status", up ? "UP" : "DOWN").put("checks", checks);
    if (!reasons.isEmpty()) {
      body.put("reasons", reasons);
    }
    Replies.json(ctx, up ? 200 : 503, body);
  }

  /** {@code GET /metrics}: an admin, or a scrape-only client. */
  void metrics(RoutingContext ctx) {
    auth.checkMetrics(ctx.request().getHeader("Authorization"));
    ctx.response().putHeader("Content-Type", "text/plain; version=0.0.4; charset=utf-8").end(gw.registry().scrape());
  }

  /** {@code GET /ui/events}: the admin token in the Authorization header only (a URL ends up in logs). */
  void dashboardEvents(RoutingContext ctx) {
    auth.checkAdmin(ctx.request().getHeader("Authorization"));
    dashboard.events(ctx);
  }
}
