package dev.agenthub.hub.gateway;

import dev.agenthub.protocol.Approval;
import dev.agenthub.protocol.Failure;
import dev.agenthub.protocol.Turn;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.shareddata.AsyncMap;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.logging.Logger;

/**
 * The node's desk of tool calls that wait for a person ({@link Approval}): who may see and decide
 * which (an admin every one, a client those of its own sessions), the decision taken once (the
 * first to take an approval out of the map decides it), the paused turn continued on the session's
 * owner through the node's {@link TurnIntake}, and the undecided ones denied when their time is up
 * (every node looks every {@value #SWEEP_MS} ms; whichever takes one out first continues it).
 */
final class PendingApprovals {

  static final long SWEEP_MS = 10_000;
  private static final Logger LOG = Logger.getLogger(PendingApprovals.class.getName());

  private final Vertx vertx;
  private final TurnIntake intake;

  PendingApprovals(Vertx vertx, TurnIntake intake) {
    this.vertx = vertx;
    this.intake = intake;
  }

  /** {@code GET /v1/approvals}: those the caller may decide, oldest first. */
  Future<JsonObject> list(String authorization) {
    boolean admin = intake.auth().admin(authorization);
    String client = admin ? null : caller(authorization);
    return all().map(pending -> {
      long now = System.currentTimeMillis();
      JsonArray shown = new JsonArray();
      pending.stream().filter(p -> !Approval.expired(p, now))
        .filter(p -> admin || client.equals(p.getString("client")))
        .sorted(Comparator.comparing(p -> p.getString("created", "")))
        .forEach(p -> shown.add(Approval.shown(p)));
      return new JsonObject().put("approvals", shown);
    });
  }

  /**
   * {@code POST /v1/approvals/{id}}: the decision, then the turn continued; answers the turn's final
   * reply (or the next approval it waits for). Unknown, expired, decided or someone else's: 404.
   */
  Future<JsonObject> decide(String authorization, String id, String decision) {
    if (!Approval.APPROVE.equals(decision) && !Approval.DENY.equals(decision)) {
      throw Failure.badParam("decision", "'decision' must be \"approve\" or \"deny\"");
    }
    boolean admin = intake.auth().admin(authorization);
    String client = admin ? null : caller(authorization);
    return find(id).compose(found -> {
      JsonObject pending = found == null ? null : found.getValue();
      if (pending == null || !admin && !client.equals(pending.getString("client"))
        || Approval.expired(pending, System.currentTimeMillis())) {
        return Future.failedFuture(new Failure(Failure.Kind.NOT_FOUND, "no pending approval '" + id + "'"));
      }
      if (!admin) {
        intake.admit(authorization, pending.getString("agent"));
      }
      AsyncMap<String, JsonObject> map = found.getKey();
      return map.remove(id).compose(taken -> {
        if (taken == null) {
          return Future.failedFuture(new Failure(Failure.Kind.NOT_FOUND, "no pending approval '" + id + "'"));
        }
        return resume(taken, decision).recover(err -> putBack(map, taken, err));
      });
    });
  }

  /** Continues the turn with the decision, on whichever instance owns its session now. */
  private Future<JsonObject> resume(JsonObject pending, String decision) {
    Turn.Request request = Turn.Request.of(pending.getString("session"), "").client(pending.getString("client"))
      .idempotencyKey("approval-" + pending.getString("id")).resume(Approval.resume(pending, decision)).build();
    return intake.dispatch(pending.getString("agent"), request);
  }

  /** Denies, as expired, the approvals whose time is up. */
  void sweep() {
    long now = System.currentTimeMillis();
    for (String name : List.of(Approval.MAP, Approval.LOCAL_MAP)) {
      map(name).compose(map -> map.entries().map(entries -> {
        entries.forEach((id, p) -> {
          if (Approval.expired(p, now)) {
            map.remove(id).onSuccess(taken -> {
              if (taken != null) {
                LOG.info("approval " + id + " (agent " + taken.getString("agent") + ", tool " + taken.getString("tool")
                  + ") expired undecided: the turn goes on with the call denied");
                resume(taken, Approval.EXPIRED).recover(err -> putBack(map, taken, err))
                  .onFailure(err -> LOG.warning("approval " + id + ": the expired turn could not go on yet ("
                    + err.getMessage() + "); tried again at the next sweep"));
              }
            });
          }
        });
        return null;
      })).onFailure(err -> LOG.fine("approvals: sweep failed: " + err.getMessage()));
    }
  }

  /**
   * The turn could not start (no live instance of its agent for now, a full queue, the client's rate):
   * the approval goes back into its map, undecided, so the decision can be made again; the caller
   * learns why. A turn that may have started (a timeout) is not put back: its call may have been made.
   */
  private static Future<JsonObject> putBack(AsyncMap<String, JsonObject> map, JsonObject pending, Throwable err) {
    Failure failure = Failure.from(err, Failure.Kind.UNAVAILABLE, "the turn could not go on");
    if (failure.kind() == Failure.Kind.UNAVAILABLE || failure.kind() == Failure.Kind.QUEUE_FULL
      || failure.kind() == Failure.Kind.RATE_LIMITED || failure.kind() == Failure.Kind.SESSION_MOVED) {
      return map.putIfAbsent(pending.getString("id"), pending).transform(ar -> Future.failedFuture(failure));
    }
    return Future.failedFuture(err);
  }

  private String caller(String authorization) {
    String client = intake.auth().clientId(authorization);
    if (client == null) {
      throw new Failure(Failure.Kind.UNAUTHORIZED, "missing or unknown bearer token");
    }
    return client;
  }

  /** The map that holds {@code id} and the approval, or null. */
  private Future<Map.Entry<AsyncMap<String, JsonObject>, JsonObject>> find(String id) {
    return map(Approval.MAP).compose(cluster -> cluster.get(id).compose(p -> p != null
      ? Future.succeededFuture(Map.entry(cluster, p))
      : map(Approval.LOCAL_MAP).compose(local -> local.get(id)
        .map(lp -> lp == null ? null : Map.entry(local, lp)))));
  }

  private Future<List<JsonObject>> all() {
    List<JsonObject> out = new ArrayList<>();
    return map(Approval.MAP).compose(AsyncMap::entries).compose(c -> {
      out.addAll(c.values());
      return map(Approval.LOCAL_MAP).compose(AsyncMap::entries);
    }).map(l -> {
      out.addAll(l.values());
      return out;
    });
  }

  private Future<AsyncMap<String, JsonObject>> map(String name) {
    return name.equals(Approval.LOCAL_MAP) ? vertx.sharedData().getLocalAsyncMap(name)
      : vertx.sharedData().getAsyncMap(name);
  }
}
