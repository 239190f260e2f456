package dev.agenthub.memory;

import dev.agenthub.protocol.Failure;

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
import java.util.Optional;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * A replica's side of replication, on the memory verticle's context: takes the writer's batches
 * ({@link ReplicaAddresses#append}) and promises ({@link ReplicaAddresses#promise}); while it is
 * not in the writer's in-sync set, asks the writer for what it lacks (the journal tail when the
 * writer still holds it, a snapshot of the files otherwise) until it holds the writer's last batch
 * and joins the set; then keeps telling the writer where it is, once a second.
 *
 * <p>It trusts no member for being one ({@link ReplicaAuth}): a promise is taken only signed by a
 * known memory node and for an epoch the cluster's counter has reached; a batch only signed by the
 * writer this copy knows for the batch's epoch (learned from its signed promise or its signed
 * answers to {@code fetch}); answers to {@code fetch} and {@code snapshot} only signed by the writer
 * of an epoch this copy may follow. Its own answers to batches are signed, so that no one else can
 * acknowledge a batch in its name.
 */
final class ReplicaFollower {

  private static final Logger LOG = Logger.getLogger(ReplicaFollower.class.getName());
  private static final long TICK_MS = 200;
  private static final long HEARTBEAT_MS = 1_000;
  /** Batches a writer sends a catching-up follower in one answer. */
  static final long TAIL_BYTES = 4L * 1024 * 1024;
  /** Files in one part of a snapshot. */
  static final long SNAPSHOT_BYTES = 8L * 1024 * 1024;
  /** Far above any epoch a cluster reaches (one per takeover), far below where a sum could overflow. */
  static final long MAX_EPOCH = 1L << 48;

  private final Vertx vertx;
  private final Context context;
  private final String node;
  private final Supplier<MarkdownStore> store;
  private final ReplicaAuth auth;
  private final Function<String, Future<Boolean>> knownNode;
  private final Supplier<Future<Long>> epochCounter;
  private final List<MessageConsumer<?>> consumers = new ArrayList<>();
  // the writer this copy follows, and its epoch: learned only from messages it signed
  private long leaderEpoch;
  private String leader;
  private long timer = -1;
  private boolean syncing;
  private boolean paused;
  private volatile ReplicaState state = ReplicaState.CATCHING_UP;
  private long nextHeartbeat;
  private String lastProblem;

  /**
   * @param knownNode    whether a node is a memory node of this cluster (its signed entry in
   *                     {@code agenthub.memory.replicas})
   * @param epochCounter the cluster's epoch counter: a node taking over takes its epoch from it
   *                     before asking for promises, so no real promise is above it
   */
  ReplicaFollower(Vertx vertx, Context context, String node, Supplier<MarkdownStore> store, ReplicaAuth auth,
                  Function<String, Future<Boolean>> knownNode, Supplier<Future<Long>> epochCounter) {
    this.vertx = vertx;
    this.context = context;
    this.node = node;
    this.store = store;
    this.auth = auth;
    this.knownNode = knownNode;
    this.epochCounter = epochCounter;
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
    long epoch;
    long seq;
    try {
      epoch = Long.parseLong(m.headers().get("epoch"));
      seq = Long.parseLong(m.headers().get("seq"));
    } catch (RuntimeException e) {
      Failure.reply(m, new Failure(Failure.Kind.BAD_REQUEST, "a batch needs its epoch and seq"));
      return;
    }
    String from = auth.node(ReplicaAuth.subject(m.address(), epoch, seq), m.headers(), m.body());
    if (from == null) {
      ReplicaAuth.refused("a batch for replica " + node, null);
      Failure.reply(m, new Failure(Failure.Kind.FORBIDDEN, "not signed by a memory node"));
      return;
    }
    MarkdownStore s = store.get();
    if (s == null || installing()) {
      Failure.reply(m, new Failure(Failure.Kind.OUT_OF_ORDER, "replica " + node + " is not ready"));
      return;
    }
    if (epoch < leaderEpoch || epoch < s.promised()) {
      answer(m, epoch, seq, "stale"); // a writer older than one this copy promised to follow
      return;
    }
    if (epoch != leaderEpoch || !from.equals(leader)) {
      // not the writer this copy knows for that epoch (yet): it asks the writer itself, which tells
      Failure.reply(m, new Failure(Failure.Kind.OUT_OF_ORDER, "replica " + node + " does not follow " + from
        + " in epoch " + epoch + " (yet)"));
      return;
    }
    Future.fromCompletionStage(s.follow(epoch, seq, m.body().getBytes()), context).onComplete(ar -> {
      if (ar.succeeded()) {
        answer(m, epoch, seq, "ok");
      } else {
        Failure e = ar.cause() instanceof Failure me ? me
          : new Failure(Failure.Kind.INTERNAL, "the batch could not be applied");
        if (e.kind() == Failure.Kind.STALE_WRITER) {
          answer(m, epoch, seq, "stale");
        } else {
          Failure.reply(m, e);
        }
      }
    });
  }

  /** The signed answer to a batch: {@code ok} (on disk) or {@code stale} (a newer writer is followed). */
  private void answer(Message<Buffer> m, long epoch, long seq, String status) {
    MarkdownStore s = store.get();
    long promised = s == null ? 0 : s.promised();
    Buffer empty = Buffer.buffer();
    m.reply(empty, auth.sign(ackSubject(node, epoch, seq, status, promised), empty,
      new DeliveryOptions().addHeader("status", status).addHeader("promised", Long.toString(promised))));
  }

  /** What a follower's answer to batch {@code seq} of {@code epoch} is signed for. */
  static String ackSubject(String follower, long epoch, long seq, String status, long promised) {
    return ReplicaAuth.subject(ReplicaAddresses.append(follower) + "#answer", epoch, seq, status, promised);
  }

  private void promise(Message<JsonObject> m) {
    String from = auth.node(m.address(), m.headers(), m.body());
    Long epoch = m.body() == null ? null : m.body().getLong("epoch");
    if (from == null || epoch == null) {
      ReplicaAuth.refused("a promise asked of replica " + node, null);
      Failure.reply(m, new Failure(Failure.Kind.FORBIDDEN, "not signed by a memory node"));
      return;
    }
    MarkdownStore s = store.get();
    if (s == null) {
      Failure.reply(m, new Failure(Failure.Kind.UNAVAILABLE, "replica " + node + " is not ready"));
      return;
    }
    if (epoch <= 0 || epoch > MAX_EPOCH) {
      refusePromise(m, from, epoch, "no real epoch is that high");
      return;
    }
    Future.all(knownNode.apply(from), epochCounter.get()).compose(checks -> {
      if (!Boolean.TRUE.equals(checks.resultAt(0))) {
        return Future.failedFuture(from + " is not a memory node of this cluster");
      }
      long counter = checks.<Long>resultAt(1);
      if (epoch > counter) {
        return Future.failedFuture("the cluster's epoch counter is at " + counter);
      }
      return vertx.executeBlocking(() -> s.promise(epoch), false);
    }).onComplete(ar -> {
      if (ar.failed()) {
        refusePromise(m, from, epoch, String.valueOf(ar.cause().getMessage()));
        return;
      }
      if (epoch > leaderEpoch && s.promised() == epoch) {
        leaderEpoch = epoch;
        leader = from;
      }
      JsonObject answer = position(ar.result()).put("node", node).put("installing", installing())
        .put("promised", s.promised());
      m.reply(answer, auth.sign(ReplicaAddresses.promise(node) + "#answer", answer, null));
    });
  }

  private void refusePromise(Message<JsonObject> m, String from, long epoch, String why) {
    LOG.warning("memory: replica " + node + " refuses to promise epoch " + epoch + " to " + from + ": " + why);
    Failure.reply(m, new Failure(Failure.Kind.FORBIDDEN, "replica " + node + " does not promise epoch " + epoch + ": " + why));
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
    DeliveryOptions options = auth.sign(ReplicaAddresses.FETCH, ask,
      new DeliveryOptions().setSendTimeout(10_000).setTracingPolicy(TracingPolicy.IGNORE));
    return vertx.eventBus().<Buffer>request(ReplicaAddresses.FETCH, ask, options).compose(reply -> {
      String status = reply.headers().get("status");
      String writer = reply.headers().get("writer");
      long writerEpoch;
      try {
        writerEpoch = Long.parseLong(reply.headers().get("epoch"));
      } catch (RuntimeException e) {
        return Future.failedFuture("an answer to fetch without the writer's epoch");
      }
      if (!auth.signedBy(writer, fetchAnswerSubject(status, writer, writerEpoch), reply.headers(), reply.body())) {
        ReplicaAuth.refused("an answer to fetch", writer);
        return Future.failedFuture("an answer to fetch not signed by its writer");
      }
      Optional<String> stale = trustWriter(s, writer, writerEpoch);
      if (stale.isPresent()) {
        return Future.failedFuture(stale.get());
      }
      switch (String.valueOf(status)) {
        case "following", "standby" -> {
          ReplicaState now = status.equals("standby") ? ReplicaState.STANDBY : ReplicaState.FOLLOWING;
          if (state != now) {
            LOG.info("memory: replica " + node + (status.equals("standby") ? " stands by for" : " follows") + " writer "
              + writer + " at batch " + at.seq());
          }
          state = now;
          nextHeartbeat = System.currentTimeMillis() + HEARTBEAT_MS;
          return Future.succeededFuture();
        }
        case "tail" -> {
          // a standby trails the writer by design: it is not catching up from anything
          state = state == ReplicaState.FOLLOWING || state == ReplicaState.STANDBY ? state : ReplicaState.CATCHING_UP;
          return Future.fromCompletionStage(s.followAll(writerEpoch, reply.body().getBytes()), context)
            .<Void>mapEmpty()
            .recover(err -> {
              if (err instanceof Failure me && me.kind() == Failure.Kind.OUT_OF_ORDER) {
                // its log went another way than the writer's: the writer's files replace it
                LOG.info("memory: replica " + node + " cannot apply the writer's batches (" + me.getMessage()
                  + "): a snapshot replaces its copy");
                return snapshot(s, writer, writerEpoch);
              }
              return Future.failedFuture(err);
            })
            .compose(p -> s.leading() ? Future.succeededFuture() : sync(s));
        }
        case "snapshot" -> {
          return snapshot(s, writer, writerEpoch).compose(v -> sync(s));
        }
        default -> {
          return Future.succeededFuture(); // the writer is busy changing its in-sync set: ask again next tick
        }
      }
    });
  }

  /**
   * Whether {@code writer}, which signed an answer as the writer of {@code epoch}, is one this copy
   * may follow: not older than its promise, and the only writer of that epoch it knows. Learns it.
   */
  private Optional<String> trustWriter(MarkdownStore s, String writer, long epoch) {
    if (epoch < s.promised() || epoch < leaderEpoch) {
      return Optional.of("writer " + writer + " answers in epoch " + epoch + ", older than epoch "
        + Math.max(s.promised(), leaderEpoch) + " this copy promised to follow");
    }
    if (epoch == leaderEpoch && !writer.equals(leader)) {
      return Optional.of("writer " + writer + " answers in epoch " + epoch + ", which is " + leader + "'s");
    }
    if (epoch > leaderEpoch) {
      leaderEpoch = epoch;
      leader = writer;
    }
    return Optional.empty();
  }

  /** What the writer's answer to {@code fetch} is signed for. */
  static String fetchAnswerSubject(String status, String writer, long epoch) {
    return ReplicaAuth.subject(ReplicaAddresses.FETCH + "#answer", status, writer, epoch);
  }

  /** What one part of the writer's snapshot is signed for. */
  static String snapshotAnswerSubject(String writer, long epoch, String fromEpoch, String fromSeq, String next) {
    return ReplicaAuth.subject(ReplicaAddresses.SNAPSHOT + "#answer", writer, epoch, fromEpoch, fromSeq, next);
  }

  private Future<Void> snapshot(MarkdownStore s, String writer, long writerEpoch) {
    LOG.info("memory: replica " + node + " at batch " + s.position().seq() + " installs a snapshot of the writer's "
      + "files");
    state = ReplicaState.INSTALLING;
    Promise<MarkdownStore.Position> from = Promise.promise();
    return Future.fromCompletionStage(s.beginSnapshot(), context)
      .compose(v -> part(s, "", from, writer, writerEpoch))
      .compose(v -> from.future())
      .compose(p -> Future.fromCompletionStage(s.finishSnapshot(p), context))
      .map(p -> {
        state = ReplicaState.CATCHING_UP;
        LOG.info("memory: replica " + node + " installed a snapshot at batch " + p.seq());
        return (Void) null;
      });
  }

  private Future<Void> part(MarkdownStore s, String cursor, Promise<MarkdownStore.Position> from, String writer,
                            long writerEpoch) {
    JsonObject ask = new JsonObject().put("node", node).put("cursor", cursor);
    DeliveryOptions options = auth.sign(ReplicaAddresses.SNAPSHOT, ask,
      new DeliveryOptions().setSendTimeout(60_000).setTracingPolicy(TracingPolicy.IGNORE));
    return vertx.eventBus().<Buffer>request(ReplicaAddresses.SNAPSHOT, ask, options).compose(reply -> {
      String fromEpoch = reply.headers().get("epoch");
      String fromSeq = reply.headers().get("seq");
      String next = reply.headers().get("next");
      if (!auth.signedBy(writer, snapshotAnswerSubject(writer, writerEpoch, fromEpoch, fromSeq, next), reply.headers(),
        reply.body())) {
        ReplicaAuth.refused("a part of a snapshot", writer);
        return Future.failedFuture("a part of a snapshot not signed by writer " + writer + " of epoch " + writerEpoch);
      }
      if (cursor.isEmpty()) {
        from.complete(new MarkdownStore.Position(Long.parseLong(fromEpoch), Long.parseLong(fromSeq)));
      }
      return Future.fromCompletionStage(s.installSnapshot(reply.body().getBytes()), context)
        .compose(v -> next == null ? Future.succeededFuture() : part(s, next, from, writer, writerEpoch));
    });
  }

  static JsonObject position(MarkdownStore.Position p) {
    return new JsonObject().put("epoch", p.epoch()).put("seq", p.seq());
  }
}
