package dev.agenthub.memory;

import dev.agenthub.protocol.Failure;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.tracing.TracingPolicy;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.logging.Logger;

/**
 * The writer's side of replication: sends every batch to the in-sync followers and answers the
 * committer once all of them have it on disk, and at least {@link #needed} of them are in sync.
 * The in-sync set (Kafka's ISR) lives in the cluster ({@link InSyncRecord}), changed only by a
 * compare-and-set that names this writer's epoch: a follower leaves it when it fails or lags (so
 * one slow disk cannot hold writes), and joins it again once it has caught up with the writer's
 * last batch. Every member of the set has every acknowledged batch, so any of them can take over.
 * Runs on the memory verticle's context.
 *
 * <p>Batches are signed by this writer, and only a follower's own signed answer counts as its
 * acknowledgement ({@link ReplicaAuth}): a member that registers a consumer on a follower's address
 * receives batches it cannot answer for. The record is watched: one that is not signed (a foreign
 * record) is replaced by this writer's own; a signed newer one fences it.
 */
final class ReplicaSet implements MarkdownStore.Replicator {

  private static final Logger LOG = Logger.getLogger(ReplicaSet.class.getName());
  /** A follower that has not answered a batch this long leaves the in-sync set. */
  static final long LAG_MS = 1_500;
  /** A follower not heard from this long is no longer listed. */
  private static final long FORGET_MS = 5_000;

  private record Pending(long epoch, long seq, Set<String> acks, CompletableFuture<Void> done, long since) {
  }

  /** What the writer knows of one replica, for {@code /v1/cluster}. */
  private static final class Follower {
    long applied;
    ReplicaState state = ReplicaState.CATCHING_UP;
    long seen = System.currentTimeMillis();
    final Map<Long, Long> unacked = new HashMap<>();
  }

  private final Vertx vertx;
  private final Context context;
  private final String self;
  private final int needed;
  private final int replicas;
  private final InSyncRecord.Store isrStore;
  private final ReplicaAuth auth;
  private final Runnable onFenced;
  private final TreeMap<Long, Pending> pending = new TreeMap<>();
  private final Map<String, Follower> followers = new LinkedHashMap<>();
  private InSyncRecord isr;
  private boolean changing;
  private boolean fenced;
  private long monitor = -1;
  private long watcher = -1;
  private boolean watching;
  private volatile long lastSeq;

  /**
   * @param replicas  {@code memory.replicas}: the writer and its followers
   * @param isr       the in-sync record this writer took over with (its epoch and writer are this one's)
   * @param onFenced  run (on the context) when a newer writer is known: this one must step down
   */
  ReplicaSet(Vertx vertx, Context context, String self, int replicas, InSyncRecord isr, InSyncRecord.Store isrStore,
             ReplicaAuth auth, Runnable onFenced) {
    this.auth = auth;
    this.vertx = vertx;
    this.context = context;
    this.self = self;
    this.needed = followersNeeded(replicas);
    this.replicas = replicas;
    this.isr = isr;
    this.isrStore = isrStore;
    this.onFenced = onFenced;
    for (String m : isr.members()) {
      followers.computeIfAbsent(m, n -> new Follower()).state = ReplicaState.FOLLOWING;
    }
  }

  /** Followers that must hold a batch besides the writer: all of them for 2 replicas, a majority's worth above. */
  static int followersNeeded(int replicas) {
    return replicas / 2;
  }

  void start() {
    monitor = vertx.setPeriodic(LAG_MS / 4, id -> checkLag());
    watcher = vertx.setPeriodic(LAG_MS, id -> watchRecord());
  }

  /**
   * True while a write would wait: fewer in-sync followers than needed, a batch unanswered for
   * longer than a follower may lag, or this writer fenced.
   */
  boolean writesHeld() {
    if (fenced || isr.members().size() < needed) {
      return true;
    }
    Map.Entry<Long, Pending> oldest = pending.firstEntry();
    return oldest != null && System.currentTimeMillis() - oldest.getValue().since() > 2 * LAG_MS;
  }

  /**
   * The record as the cluster has it: this writer's own (nothing to do), a foreign one (not signed
   * under the secret: put back this writer's, which only a memory node can have written), or a
   * newer writer's (fenced).
   */
  private void watchRecord() {
    if (changing || fenced || watching) {
      return;
    }
    watching = true;
    InSyncRecord mine = isr;
    isrStore.get().compose(current -> {
      if (mine.equals(current) || changing || mine != isr) {
        return Future.succeededFuture();
      }
      if (current == null || current.epoch() < mine.epoch()) {
        LOG.warning("memory: the in-sync record of writer " + self + " is missing, foreign or an older one written "
          + "back; it is written again");
        return isrStore.replace(mine, mine).map(done -> {
          if (!done) {
            LOG.warning("memory: the in-sync record changed under writer " + self + ": a newer writer took over");
            fence();
          }
          return null;
        });
      }
      if (current.epoch() >= mine.epoch()) {
        LOG.warning("memory: the in-sync record names writer " + current.writer() + " of epoch " + current.epoch()
          + ": writer " + self + " (epoch " + mine.epoch() + ") stops");
        fence();
      }
      return Future.succeededFuture();
    }).onComplete(ar -> watching = false);
  }

  void stop() {
    if (monitor >= 0) {
      vertx.cancelTimer(monitor);
    }
    if (watcher >= 0) {
      vertx.cancelTimer(watcher);
    }
    Failure gone = new Failure(Failure.Kind.UNAVAILABLE, "the memory writer stepped down");
    pending.values().forEach(p -> p.done().completeExceptionally(gone));
    pending.clear();
  }

  @Override
  public CompletableFuture<Void> replicate(long epoch, long seq, byte[] frames) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    context.runOnContext(v -> {
      if (fenced) {
        done.completeExceptionally(staleWriter());
        return;
      }
      lastSeq = seq;
      pending.put(seq, new Pending(epoch, seq, new HashSet<>(), done, System.currentTimeMillis()));
      Buffer body = Buffer.buffer(frames);
      for (String node : isr.members()) {
        send(node, epoch, seq, body);
      }
      settle();
    });
    return done;
  }

  private void send(String node, long epoch, long seq, Buffer body) {
    Follower f = followers.computeIfAbsent(node, n -> new Follower());
    f.unacked.put(seq, System.currentTimeMillis());
    String address = ReplicaAddresses.append(node);
    DeliveryOptions options = auth.sign(ReplicaAuth.subject(address, epoch, seq), body, new DeliveryOptions()
      .setSendTimeout(LAG_MS * 2).addHeader("epoch", Long.toString(epoch)).addHeader("seq", Long.toString(seq))
      .setTracingPolicy(TracingPolicy.IGNORE));
    vertx.eventBus().<Buffer>request(address, body, options).onComplete(ar -> {
      f.unacked.remove(seq);
      String status = ar.succeeded() ? answer(node, epoch, seq, ar.result()) : null;
      if ("stale".equals(status)) {
        LOG.warning("memory: replica " + node + " follows a newer writer (it promised epoch "
          + ar.result().headers().get("promised") + ")");
        fence();
        return;
      }
      if ("ok".equals(status)) {
        f.seen = System.currentTimeMillis();
        f.applied = Math.max(f.applied, seq);
        Pending p = pending.get(seq);
        if (p != null) {
          p.acks().add(node);
          settle();
        }
        return;
      }
      // a failure is not signed: whatever it says, it only takes the follower out of the set
      // kept as overdue, so the lag check drops it should this drop lose to another change
      f.unacked.put(seq, 0L);
      drop(node, "it did not take batch " + seq + ": " + (ar.failed() ? ar.cause().getMessage()
        : "its answer was not signed by it"));
    });
  }

  /** The status of a follower's answer to a batch ({@code ok}, {@code stale}), or null when it did not sign it. */
  private String answer(String node, long epoch, long seq, Message<Buffer> reply) {
    String status = reply.headers().get("status");
    String promised = reply.headers().get("promised");
    if (status == null || promised == null || !auth.signedBy(node, ReplicaFollower.ackSubject(node, epoch, seq, status,
      parseLong(promised)), reply.headers(), reply.body())) {
      ReplicaAuth.refused("an answer to batch " + seq + " in the name of replica " + node, null);
      return null;
    }
    return status;
  }

  private static long parseLong(String s) {
    try {
      return Long.parseLong(s);
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /** Answers every pending batch that all in-sync followers hold, oldest first, while there are enough of them. */
  private void settle() {
    if (changing || fenced) {
      return;
    }
    Set<String> members = isr.members();
    for (Iterator<Pending> it = pending.values().iterator(); it.hasNext(); ) {
      Pending p = it.next();
      if (members.size() < needed || !p.acks().containsAll(members)) {
        return;
      }
      it.remove();
      p.done().complete(null);
    }
  }

  private void checkLag() {
    long now = System.currentTimeMillis();
    followers.entrySet().removeIf(e -> !isr.members().contains(e.getKey()) && now - e.getValue().seen > FORGET_MS);
    for (String node : Set.copyOf(isr.members())) {
      Follower f = followers.get(node);
      long oldest = f == null ? now : f.unacked.values().stream().mapToLong(Long::longValue).min().orElse(now);
      if (now - oldest > LAG_MS) {
        drop(node, "it has not taken a batch for " + (now - oldest) + " ms");
      }
    }
  }

  private void drop(String node, String why) {
    if (!isr.members().contains(node)) {
      return;
    }
    Follower f = followers.get(node);
    if (f != null) {
      f.state = ReplicaState.BEHIND;
    }
    LOG.warning("memory: replica " + node + " leaves the in-sync set: " + why);
    change(isr.without(node));
  }

  /** True when {@code node} is a standby: in sync, but beyond the copies {@code memory.replicas} asks for. */
  boolean standby(String node) {
    Follower f = followers.get(node);
    return f != null && f.state == ReplicaState.STANDBY && !isr.members().contains(node);
  }

  /**
   * A follower asking for batches after {@code position}: when it holds everything this writer
   * holds, it joins the in-sync set (answers true once the cluster has the new set) unless the set
   * has the copies it needs already.
   */
  Future<Boolean> caughtUp(String node, MarkdownStore.Position position, MarkdownStore.Position last) {
    Follower f = followers.computeIfAbsent(node, n -> new Follower());
    f.seen = System.currentTimeMillis();
    f.applied = position.seq();
    if (isr.members().contains(node)) {
      return Future.succeededFuture(true);
    }
    if (!position.equals(last) || changing || fenced) {
      // a standby trails by design; one that left the set stays "behind" until it is back in it
      f.state = f.state == ReplicaState.BEHIND || f.state == ReplicaState.STANDBY ? f.state : ReplicaState.CATCHING_UP;
      return Future.succeededFuture(false);
    }
    if (isr.members().size() >= replicas - 1) {
      // enough copies already: this one stays a warm standby, caught up from the tail, in no acknowledgement
      f.state = ReplicaState.STANDBY;
      return Future.succeededFuture(false);
    }
    return change(isr.with(node)).map(v -> {
      if (isr.members().contains(node)) {
        f.state = ReplicaState.FOLLOWING;
        f.unacked.clear();
        // it holds every batch up to its position, pending ones included
        pending.headMap(position.seq(), true).values().forEach(p -> p.acks().add(node));
        settle();
        return true;
      }
      return false;
    });
  }

  /** Notes a follower catching up (a tail or a snapshot), for the cluster view. */
  void catchingUp(String node, long applied) {
    Follower f = followers.computeIfAbsent(node, n -> new Follower());
    f.seen = System.currentTimeMillis();
    f.applied = applied;
    if (!isr.members().contains(node) && f.state != ReplicaState.STANDBY) {
      f.state = f.state == ReplicaState.BEHIND ? ReplicaState.BEHIND : ReplicaState.CATCHING_UP;
    }
  }

  private Future<Void> change(InSyncRecord next) {
    if (changing || fenced) {
      return Future.succeededFuture();
    }
    changing = true;
    InSyncRecord before = isr;
    return isrStore.replace(before, next).transform(ar -> {
      changing = false;
      if (ar.succeeded() && ar.result()) {
        isr = next;
        LOG.info("memory: in-sync followers of epoch " + isr.epoch() + ": " + (isr.members().isEmpty() ? "none"
          : String.join(", ", isr.members())) + (isr.members().size() < needed ? " (writes wait for "
          + needed + ")" : ""));
        settle();
      } else if (ar.succeeded()) {
        LOG.warning("memory: the in-sync record changed under writer " + self + " (epoch " + before.epoch()
          + "): a newer writer took over");
        fence();
      } else {
        LOG.warning("memory: could not change the in-sync set: " + ar.cause().getMessage());
        // the batches go on waiting; the next lag check tries again
      }
      return Future.succeededFuture();
    });
  }

  private void fence() {
    if (fenced) {
      return;
    }
    fenced = true;
    Failure stale = staleWriter();
    pending.values().forEach(p -> p.done().completeExceptionally(stale));
    pending.clear();
    onFenced.run();
  }

  private Failure staleWriter() {
    return new Failure(Failure.Kind.STALE_WRITER, "writer " + self + " (epoch " + isr.epoch()
      + ") was replaced by a newer writer; it no longer writes");
  }

  /** The replicas as the writer sees them: {@code [{node, applied, state}]}, the writer first. */
  JsonArray view(long applied) {
    JsonArray out = new JsonArray().add(new JsonObject().put("node", self).put("applied", applied).put("state", ReplicaState.WRITER.id()));
    followers.forEach((node, f) -> out.add(new JsonObject().put("node", node).put("applied", f.applied)
      .put("state", f.state.id())));
    return out;
  }

  InSyncRecord record() {
    return isr;
  }
}
