package dev.agenthub.hub.gateway;

import dev.agenthub.protocol.Failure;

import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

/**
 * {@code GET /v1/approvals} and {@code POST /v1/approvals/{id}}: the tool calls that wait for a
 * person, and their decisions ({@link PendingApprovals} decides who may see and decide what).
 */
final class ApprovalRoutes {

  private final GatewayContext gw;

  ApprovalRoutes(GatewayContext gw) {
    this.gw = gw;
  }

  void list(RoutingContext ctx) {
    gw.intake().approvals().list(ctx.request().getHeader("Authorization"))
      .onSuccess(body -> Replies.json(ctx, 200, body)).onFailure(ctx::fail);
  }

  /** Before the body: a caller with no token at all is refused before the node reads anything. */
  void admit(RoutingContext ctx) {
    String authorization = ctx.request().getHeader("Authorization");
    if (!gw.intake().auth().admin(authorization) && gw.intake().auth().clientId(authorization) == null) {
      throw new Failure(Failure.Kind.UNAUTHORIZED, "missing or unknown bearer token");
    }
    ctx.next();
  }

  void decide(RoutingContext ctx) {
    JsonObject body = Requests.jsonBody(ctx.body().buffer());
    Object decision = body.getValue("decision");
    if (!(decision instanceof String d)) {
      throw Failure.badParam("decision", "'decision' must be \"approve\" or \"deny\"");
    }
    gw.intake().approvals().decide(ctx.request().getHeader("Authorization"), ctx.pathParam("id"), d)
      .onSuccess(reply -> Replies.json(ctx, Replies.status(reply), reply)).onFailure(ctx::fail);
  }
}
