package dev.agenthub.memory;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import io.vertx.core.tracing.TracingPolicy;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * A replica's side of replication, on the memory verticle's context: takes the writer's batches
 * ({@link ReplicaAddresses#append}) and promises ({@link ReplicaAddresses#promise}); while it is
 * not in the writer's in-sync set, asks the writer for what it lacks (the journal tail when the
 * writer still holds it, a snapshot of the files otherwise) until it holds the writer's last batch
 * and joins the set; then keeps telling the writer where it is, once a second.
 */
final class ReplicaFollower {

  private static final Logger LOG = Logger.getLogger(ReplicaFollower.class.getName());
  private static final long TICK_MS = 200;
  private static final long HEARTBEAT_MS = 1_000;
  /** Batches a writer sends a catching-up follower in one answer. */
  static final long TAIL_BYTES = 4L * 1024 * 1024;
  /** Files in one part of a snapshot. */
  static final long SNAPSHOT_BYTES = 8L * 1024 * 1024;

  private final Vertx vertx;
  private final Context context;
  private final String node;
  private final Supplier<MarkdownStore> store;
  private final List<MessageConsumer<?>> consumers = new ArrayList<>();
  private long timer = -1;
  private boolean syncing;
  private boolean paused;
  private volatile ReplicaState state = ReplicaState.CATCHING_UP;
  private long nextHeartbeat;
  private String lastProblem;

  ReplicaFollower(Vertx vertx, Context context, String node, Supplier<MarkdownStore> store) {
    this.vertx = vertx;
    this.context = context;
    this.node = node;
    this.store = store;
  }

  /** Where this copy stands ({@link ReplicaState}). */
  ReplicaState state() {
    return state;
  }

  /** True while a snapshot is being installed: the files are not whole. */
  boolean installing() {
    return state == ReplicaState.INSTALLING;
  }

  Future<Void> start() {
    consumers.add(vertx.eventBus().<Buffer>consumer(ReplicaAddresses.append(node), this::append));
    consumers.add(vertx.eventBus().<JsonObject>consumer(ReplicaAddresses.promise(node), this::promise));
    timer = vertx.setPeriodic(TICK_MS, id -> tick());
    List<Future<Void>> ready = new ArrayList<>();
    consumers.forEach(c -> ready.add(c.completion()));
    return Future.all(ready).mapEmpty();
  }

  Future<Void> stop() {
    if (timer >= 0) {
      vertx.cancelTimer(timer);
    }
    List<Future<Void>> gone = new ArrayList<>();
    consumers.forEach(c -> gone.add(c.unregister()));
    return Future.join(gone).mapEmpty();
  }

  /** This node takes over as the writer: it follows no one. */
  void pause() {
    paused = true;
  }

  /** This node stepped down: start over as a follower that must catch up. */
  void reset() {
    paused = false;
    state = ReplicaState.CATCHING_UP;
    nextHeartbeat = 0;
  }

  private void append(Message<Buffer> m) {
    MarkdownStore s = store.get();
    if (s == null || installing()) {
      m.fail(MemoryException.Kind.OUT_OF_ORDER.status(), "replica " + node + " is not ready");
      return;
    }
    long epoch;
    long seq;
    try {
      epoch = Long.parseLong(m.headers().get("epoch"));
      seq = Long.parseLong(m.headers().get("seq"));
    } catch (RuntimeException e) {
      m.fail(MemoryException.Kind.INVALID.status(), "a batch needs its epoch and seq");
      return;
    }
    Future.fromCompletionStage(s.follow(epoch, seq, m.body().getBytes()), context).onComplete(ar -> {
      if (ar.succeeded()) {
        m.reply(null);
      } else {
        MemoryException e = ar.cause() instanceof MemoryException me ? me
          : new MemoryException(MemoryException.Kind.IO, "the batch could not be applied");
        m.fail(e.kind().status(), e.getMessage());
      }
    });
  }

  private void promise(Message<JsonObject> m) {
    MarkdownStore s = store.get();
    Long epoch = m.body().getLong("epoch");
    if (s == null || epoch == null) {
      m.fail(MemoryException.Kind.UNAVAILABLE.status(), "replica " + node + " is not ready");
      return;
    }
    vertx.executeBlocking(() -> s.promise(epoch), false).onComplete(ar -> {
      if (ar.succeeded()) {
        m.reply(position(ar.result()).put("node", node).put("installing", installing()).put("promised", s.promised()));
      } else {
        m.fail(MemoryException.Kind.IO.status(), "replica " + node + " could not promise");
      }
    });
  }

  private void tick() {
    MarkdownStore s = store.get();
    if (s == null || paused || s.leading() || syncing) {
      return;
    }
    if ((state == ReplicaState.FOLLOWING || state == ReplicaState.STANDBY) && System.currentTimeMillis() < nextHeartbeat) {
      return;
    }
    syncing = true;
    sync(s).onComplete(ar -> {
      syncing = false;
      if (ar.failed()) {
        String problem = ar.cause().getMessage();
        state = state == ReplicaState.INSTALLING ? ReplicaState.CATCHING_UP : ReplicaState.BEHIND;
        if (!String.valueOf(problem).equals(lastProblem)) {
          LOG.log(Level.INFO, "memory: replica " + node + " cannot follow yet: " + problem);
          lastProblem = problem;
        }
      } else {
        lastProblem = null;
      }
    });
  }

  /** Asks the writer for what this replica lacks, applies it, and asks again until it is in sync. */
  private Future<Void> sync(MarkdownStore s) {
    MarkdownStore.Position at = s.position();
    JsonObject ask = position(at).put("node", node);
    DeliveryOptions options = new DeliveryOptions().setSendTimeout(10_000).setTracingPolicy(TracingPolicy.IGNORE);
    return vertx.eventBus().<Buffer>request(ReplicaAddresses.FETCH, ask, options).compose(reply -> {
      String status = reply.headers().get("status");
      switch (String.valueOf(status)) {
        case "following", "standby" -> {
          ReplicaState now = status.equals("standby") ? ReplicaState.STANDBY : ReplicaState.FOLLOWING;
          if (state != now) {
            LOG.info("memory: replica " + node + (status.equals("standby") ? " stands by for" : " follows") + " writer "
              + reply.headers().get("writer") + " at batch " + at.seq());
          }
          state = now;
          nextHeartbeat = System.currentTimeMillis() + HEARTBEAT_MS;
          return Future.succeededFuture();
        }
        case "tail" -> {
          // a standby trails the writer by design: it is not catching up from anything
          state = state == ReplicaState.FOLLOWING || state == ReplicaState.STANDBY ? state : ReplicaState.CATCHING_UP;
          return Future.fromCompletionStage(s.followAll(reply.body().getBytes()), context)
            .compose(p -> s.leading() ? Future.succeededFuture() : sync(s));
        }
        case "snapshot" -> {
          return snapshot(s).compose(v -> sync(s));
        }
        default -> {
          return Future.succeededFuture(); // the writer is busy changing its in-sync set: ask again next tick
        }
      }
    });
  }

  private Future<Void> snapshot(MarkdownStore s) {
    LOG.info("memory: replica " + node + " at batch " + s.position().seq() + " installs a snapshot of the writer's "
      + "files");
    state = ReplicaState.INSTALLING;
    Promise<MarkdownStore.Position> from = Promise.promise();
    return Future.fromCompletionStage(s.beginSnapshot(), context)
      .compose(v -> part(s, "", from))
      .compose(v -> from.future())
      .compose(p -> Future.fromCompletionStage(s.finishSnapshot(p), context))
      .map(p -> {
        state = ReplicaState.CATCHING_UP;
        LOG.info("memory: replica " + node + " installed a snapshot at batch " + p.seq());
        return (Void) null;
      });
  }

  private Future<Void> part(MarkdownStore s, String cursor, Promise<MarkdownStore.Position> from) {
    DeliveryOptions options = new DeliveryOptions().setSendTimeout(60_000).setTracingPolicy(TracingPolicy.IGNORE);
    return vertx.eventBus().<Buffer>request(ReplicaAddresses.SNAPSHOT, new JsonObject().put("node", node)
      .put("cursor", cursor), options).compose(reply -> {
        if (cursor.isEmpty()) {
          from.complete(new MarkdownStore.Position(Long.parseLong(reply.headers().get("epoch")),
            Long.parseLong(reply.headers().get("seq"))));
        }
        String next = reply.headers().get("next");
        return Future.fromCompletionStage(s.installSnapshot(reply.body().getBytes()), context)
          .compose(v -> next == null ? Future.succeededFuture() : part(s, next, from));
      });
  }

  static JsonObject position(MarkdownStore.Position p) {
    return new JsonObject().put("epoch", p.epoch()).put("seq", p.seq());
  }
}
