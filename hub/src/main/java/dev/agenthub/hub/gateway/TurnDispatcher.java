package dev.agenthub.hub.gateway;

import dev.agenthub.hub.cluster.ClusterView;
import dev.agenthub.hub.cluster.NodeEntry;
import dev.agenthub.hub.cluster.RendezvousRouter;
import dev.agenthub.protocol.Failure;
import dev.agenthub.protocol.MessageAuth;
import dev.agenthub.protocol.Turn;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import java.util.logging.Logger;

/**
 * The node's one dispatcher (held by {@link TurnIntake}, called from every door's context): sends a
 * turn to the instance that owns its session (rendezvous hash over the live instances,
 * anywhere in the cluster). An instance that has no consumer (its node is leaving, or not yet
 * deployed) is skipped for the next one in the session's ranking. A turn whose node leaves the
 * cluster while it runs is sent again, with the same idempotency key, to the session's new owner:
 * an accepted message is answered even if the node that ran it dies. A turn's sends and answers run
 * on the context that dispatched it; only the look for orphans runs elsewhere, and hands each
 * orphan back to its own context.
 */
final class TurnDispatcher {

  private static final Logger LOG = Logger.getLogger(TurnDispatcher.class.getName());

  /** A turn on its way: where it was sent last. */
  private static final class Pending {
    final String agent;
    final Turn.Request request;
    final long timeoutMs;
    final Context context;
    final Promise<JsonObject> promise = Promise.promise();
    // written on the turn's context, read by the look for orphans
    volatile String node;
    volatile String instance;
    volatile int resends;
    int waits;

    Pending(String agent, Turn.Request request, long timeoutMs, Context context) {
      this.agent = agent;
      this.request = request;
      this.timeoutMs = timeoutMs;
      this.context = context;
    }
  }

  private final Set<Pending> pending = ConcurrentHashMap.newKeySet();
  // the same turns by session|idempotency key, to cancel one
  private final Map<String, Pending> byKey = new ConcurrentHashMap<>();
  private static final long WAIT_MS = 250;
  private static final int MAX_WAITS = 20;

  private final Vertx vertx;
  private final Supplier<ClusterView> view;
  private final long timeoutMs;

  private final MessageAuth.Signer signer;

  /**
   * @param signer signs every message to an instance as this node: an instance runs only turns a
   *               node signed for its address, once
   */
  TurnDispatcher(Vertx vertx, Supplier<ClusterView> view, long timeoutMs, MessageAuth.Signer signer) {
    this.signer = signer;
    this.vertx = vertx;
    this.view = view;
    this.timeoutMs = timeoutMs;
  }

  Future<JsonObject> dispatch(String agent, Turn.Request request) {
    return dispatch(agent, request, timeoutMs);
  }

  Future<JsonObject> dispatch(String agent, Turn.Request request, long timeoutMs) {
    // every turn carries an idempotency key, so that sending it again can never make a second turn
    Turn.Request keyed = request.withGatewayKey();
    Pending p = new Pending(agent, keyed, timeoutMs, vertx.getOrCreateContext());
    pending.add(p);
    String key = keyed.turnKey();
    byKey.put(key, p);
    p.promise.future().onComplete(ar -> {
      pending.remove(p);
      byKey.remove(key, p);
    });
    send(p, false);
    return p.promise.future();
  }

  /**
   * Cancels a turn on its way (its client went away): the instance running it stops it and cuts its
   * model call short. The turn's own future then fails or completes as the instance answers.
   */
  void cancel(Turn.Request request) {
    Pending p = byKey.get(request.turnKey());
    if (p == null || p.instance == null) {
      return;
    }
    String address = Turn.address(p.agent, p.instance);
    JsonObject body = new JsonObject().put("session", request.session())
      .put("idempotency_key", request.idempotencyKey()).put("client", request.client());
    vertx.eventBus().request(address, body, signer.sign(address, body,
        new DeliveryOptions().addHeader(Turn.CANCEL_HEADER, "true").setSendTimeout(10_000)))
      .onFailure(err -> LOG.fine("cancel of " + p.agent + "/" + request.session() + ": " + err.getMessage()));
  }

  // sends of one turn after its session moved under it, before the client is told (409)
  private static final int MAX_MOVES = 3;
  // the cluster view (an immutable snapshot, replaced on every change) at the last look for orphans;
  // the look runs on one timer's context
  private ClusterView lastView;

  /** Sends again the turns whose node is no longer in the cluster. Call periodically. */
  void resendOrphans() {
    if (pending.isEmpty()) {
      return;
    }
    ClusterView now = view.get();
    if (now == lastView) {
      return; // the same snapshot as at the last look: no node has left since
    }
    lastView = now;
    Set<String> live = new HashSet<>();
    now.nodes().forEach(n -> live.add(n.name()));
    for (Pending p : new ArrayList<>(pending)) {
      String lost = p.node;
      if (lost != null && !live.contains(lost) && p.resends < 5) {
        p.context.runOnContext(v -> {
          if (lost.equals(p.node) && !p.promise.future().isComplete()) { // not sent elsewhere meanwhile
            p.resends++;
            LOG.info("turn of " + p.agent + "/" + p.request.session() + " lost node " + lost + ": sending it again");
            send(p, true);
          }
        });
      }
    }
  }

  private void send(Pending p, boolean resend) {
    List<NodeEntry.Placement> ranked = RendezvousRouter.rank(p.request.sessionKey(), view.get().instancesOf(p.agent));
    if (ranked.isEmpty()) {
      if (!retryLater(p, resend)) {
        p.promise.tryFail(new Failure(Failure.Kind.UNAVAILABLE, "no live instance of agent '" + p.agent + "'", 1L));
      }
      return;
    }
    attempt(p, ranked, 0, resend);
  }

  /**
   * While instances move between nodes (a node joining, leaving or restarting) an agent can have no
   * consumer for a moment: look again shortly, for a few seconds, before answering 503.
   */
  private boolean retryLater(Pending p, boolean resend) {
    if (p.waits >= MAX_WAITS) {
      return false;
    }
    p.waits++;
    vertx.setTimer(WAIT_MS, id -> {
      if (!p.promise.future().isComplete()) {
        send(p, resend);
      }
    });
    return true;
  }

  private void attempt(Pending p, List<NodeEntry.Placement> ranked, int i, boolean resend) {
    NodeEntry.Placement target = ranked.get(i);
    p.node = target.node();
    p.instance = target.id();
    int generation = p.resends;
    // a little longer than the agent's own model timeout, so the agent's 504 wins over ours
    DeliveryOptions options = new DeliveryOptions().setSendTimeout(p.timeoutMs + 2_000);
    if (resend) {
      options.addHeader(Turn.RESEND_HEADER, "true");
    }
    String address = Turn.address(p.agent, target.id());
    JsonObject body = p.request.toJson();
    if (MessageAuth.nodePrincipal(target.node()).equals(signer.principal())) {
      // an instance on this node: the turn never leaves the process (signLocal delivers to local
      // handlers only), so it is signed without encoding it for its digest
      signer.signLocal(address, options);
    } else {
      signer.sign(address, body, options);
    }
    long sentAt = System.nanoTime();
    vertx.eventBus().<JsonObject>request(address, body, options)
      .onSuccess(message -> p.promise.tryComplete(message.body()))
      .onFailure(err -> {
        if (generation != p.resends) {
          return; // superseded by a resend to the new owner
        }
        if (err instanceof ReplyException re && re.failureType() == ReplyFailure.NO_HANDLERS) {
          if (i + 1 < ranked.size()) {
            attempt(p, ranked, i + 1, resend);
            return;
          }
          if (retryLater(p, resend)) {
            return;
          }
        }
        // the message was lost on its way (the node's connection closed under it, so the failure came
        // long before our timeout): send it again; its idempotency key makes that safe
        boolean lost = err instanceof ReplyException re && (re.failureType() == ReplyFailure.ERROR
          || re.failureType() == ReplyFailure.TIMEOUT
          && System.nanoTime() - sentAt < (p.timeoutMs + 1_000) * 1_000_000);
        if (lost && retryLater(p, true)) {
          return;
        }
        // the session moved while the turn ran (the instance lost its claim): send it to the owner now,
        // as a resend, so it continues what the fenced turn wrote instead of writing it twice
        if (err instanceof Failure f && f.kind() == Failure.Kind.SESSION_MOVED && p.resends < MAX_MOVES) {
          p.resends++;
          send(p, true);
          return;
        }
        p.promise.tryFail(turnFailure(p.agent, err));
      });
  }

  /** What a failed turn answers at the doors: the agent's failure as it is, the bus's own as this agent's. */
  private static Failure turnFailure(String agent, Throwable err) {
    if (err instanceof Failure f) {
      return f.kind() == Failure.Kind.QUEUE_FULL ? f.withMessage("agent '" + agent + "' is busy: " + f.getMessage()) : f;
    }
    if (err instanceof ReplyException re && re.failureType() == ReplyFailure.TIMEOUT) {
      return new Failure(Failure.Kind.TIMEOUT, "agent '" + agent + "' did not answer in time");
    }
    if (err instanceof ReplyException re && re.failureType() == ReplyFailure.NO_HANDLERS) {
      return new Failure(Failure.Kind.UNAVAILABLE, "no live instance of agent '" + agent + "'");
    }
    return Failure.from(err, Failure.Kind.INTERNAL, "internal error");
  }
}
