package dev.agenthub.memory;

import dev.agenthub.protocol.Failure;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonObject;

import java.util.Optional;
import java.util.function.Supplier;
import java.util.logging.Logger;

/**
 * The writer's answers to followers that catch up ({@link ReplicaAddresses#FETCH},
 * {@link ReplicaAddresses#SNAPSHOT}): the batches after a follower's last one from the writer's log,
 * a snapshot order when it no longer holds them, parts of a snapshot of its files, or "following"
 * once the follower holds everything and joined the in-sync set ({@link ReplicaSet#caughtUp}).
 * Answered only to a memory node ({@link MemoryNodes}) that signed the request, and signed by this
 * writer with its epoch. On the memory verticle's context; a handler throws a {@link Failure} to refuse.
 */
final class ReplicaFeed {

  private static final Logger LOG = Logger.getLogger(ReplicaFeed.class.getName());

  private final Vertx vertx;
  private final Context context;
  private final String node;
  private final ReplicaAuth auth;
  private final MemoryNodes nodes;
  private final Supplier<MarkdownStore> store;
  private final Supplier<ReplicaSet> replicaSet;
  private String lastUnknownAsker;

  /**
   * @param store      this node's store (null while there is none)
   * @param replicaSet this writer's followers (null once it no longer writes)
   */
  ReplicaFeed(Vertx vertx, Context context, String node, ReplicaAuth auth, MemoryNodes nodes,
              Supplier<MarkdownStore> store, Supplier<ReplicaSet> replicaSet) {
    this.vertx = vertx;
    this.context = context;
    this.node = node;
    this.auth = auth;
    this.nodes = nodes;
    this.store = store;
    this.replicaSet = replicaSet;
  }

  /** A follower asks for what it lacks: batches, a snapshot order, or "following". */
  void fetch(Message<JsonObject> m) {
    String asker = m.body().getString("node");
    if (!auth.signedBy(asker, m.address(), m.headers(), m.body())) {
      ReplicaAuth.refused("a fetch", asker);
      throw new Failure(Failure.Kind.FORBIDDEN, "not signed by a memory node");
    }
    if (node.equals(asker)) {
      throw new Failure(Failure.Kind.BAD_REQUEST, "a writer does not follow itself");
    }
    nodes.known(asker).onComplete(ar -> {
      if (ar.succeeded() && ar.result()) {
        try {
          answerFetch(m, asker);
        } catch (Failure e) {
          Failure.reply(m, e);
        }
      } else {
        if (!asker.equals(lastUnknownAsker)) {
          lastUnknownAsker = asker; // once per asker: a node not yet published asks again a moment later
          LOG.warning("memory: writer " + node + " refuses a fetch from " + asker + ": not a memory node of this "
            + "cluster (yet)");
        }
        Failure.reply(m, new Failure(Failure.Kind.FORBIDDEN, asker + " is not a memory node of this cluster"));
      }
    });
  }

  private void answerFetch(Message<JsonObject> m, String asker) {
    MarkdownStore.Position at = new MarkdownStore.Position(m.body().getLong("epoch"), m.body().getLong("seq"));
    MarkdownStore s = store.get();
    ReplicaSet set = replicaSet.get();
    if (s == null || set == null) {
      throw new Failure(Failure.Kind.UNAVAILABLE, "node " + node + " no longer writes");
    }
    MarkdownStore.Position last = s.position();
    if (last.equals(MarkdownStore.Position.NONE)) {
      replyBuffer(m, "wait", null); // its first batch is not written yet
      return;
    }
    // a replica with no batch at all may hold files from anywhere: only a snapshot makes it a copy
    Optional<byte[]> tail = at.equals(MarkdownStore.Position.NONE) ? Optional.empty()
      : at.equals(last) ? Optional.of(new byte[0]) : s.tail(at.epoch(), at.seq(), ReplicaFollower.TAIL_BYTES);
    if (tail.isEmpty()) {
      set.catchingUp(asker, at.seq());
      replyBuffer(m, "snapshot", null);
      return;
    }
    if (tail.get().length > 0) {
      set.catchingUp(asker, at.seq());
      replyBuffer(m, "tail", tail.get());
      return;
    }
    set.caughtUp(asker, at, last).onComplete(ar -> replyBuffer(m, ar.succeeded() && ar.result() ? "following"
      : set.standby(asker) ? "standby" : "wait", null));
  }

  void snapshot(Message<JsonObject> m) {
    String asker = m.body().getString("node");
    if (!auth.signedBy(asker, m.address(), m.headers(), m.body()) || node.equals(asker)) {
      ReplicaAuth.refused("a snapshot request", asker);
      throw new Failure(Failure.Kind.FORBIDDEN, "not signed by a memory node");
    }
    nodes.known(asker).onComplete(ar -> {
      if (ar.succeeded() && ar.result()) {
        try {
          answerSnapshot(m, asker);
        } catch (Failure e) {
          Failure.reply(m, e);
        }
      } else {
        LOG.warning("memory: writer " + node + " refuses a snapshot to " + asker + ": not a memory node of this "
          + "cluster");
        Failure.reply(m, new Failure(Failure.Kind.FORBIDDEN, asker + " is not a memory node of this cluster"));
      }
    });
  }

  private void answerSnapshot(Message<JsonObject> m, String asker) {
    String cursor = m.body().getString("cursor", "");
    MarkdownStore s = store.get();
    ReplicaSet set = replicaSet.get();
    if (s == null || set == null) {
      throw new Failure(Failure.Kind.UNAVAILABLE, "node " + node + " no longer writes");
    }
    if (s.applied().equals(MarkdownStore.Position.NONE)) {
      throw new Failure(Failure.Kind.UNAVAILABLE, "the writer has not written its first batch yet");
    }
    set.catchingUp(asker, 0);
    long epoch = set.record().epoch();
    vertx.executeBlocking(() -> s.snapshot(cursor, ReplicaFollower.SNAPSHOT_BYTES), false)
      .compose(cf -> Future.fromCompletionStage(cf, context))
      .onSuccess(part -> {
        String fromEpoch = Long.toString(part.from().epoch());
        String fromSeq = Long.toString(part.from().seq());
        DeliveryOptions headers = new DeliveryOptions().addHeader("epoch", fromEpoch).addHeader("seq", fromSeq);
        if (part.next() != null) {
          headers.addHeader("next", part.next());
        }
        Buffer body = Buffer.buffer(part.frames());
        m.reply(body, auth.sign(ReplicaFollower.snapshotAnswerSubject(node, epoch, fromEpoch, fromSeq,
          part.next()), body, headers));
      })
      .onFailure(err -> Failure.reply(m, new Failure(Failure.Kind.INTERNAL, "snapshot failed: " + err.getMessage())));
  }

  /** The writer's answer to a fetch, signed with its status, its name and its epoch. */
  private void replyBuffer(Message<JsonObject> m, String status, byte[] frames) {
    ReplicaSet set = replicaSet.get();
    long epoch = set == null ? 0 : set.record().epoch();
    Buffer body = Buffer.buffer(frames == null ? new byte[0] : frames);
    m.reply(body, auth.sign(ReplicaFollower.fetchAnswerSubject(status, node, epoch), body,
      new DeliveryOptions().addHeader("status", status).addHeader("writer", node)
        .addHeader("epoch", Long.toString(epoch))));
  }
}
