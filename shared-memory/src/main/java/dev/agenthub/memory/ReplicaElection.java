package dev.agenthub.memory;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxException;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.shareddata.Lock;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Which copy writes replicated memory ({@code memory.replicas} 2 or more), in which epoch, and when
 * it stops. Every copy stands: once a second it publishes itself ({@link MemoryNodes}) and, while it
 * does not write, tries the cluster lock {@value WriterElection#LOCK}. With the lock it may take over
 * only as {@link TakeoverRules} allow (named by the in-sync record, or, with no record, heard by
 * enough other copies, and as far as any); it takes an epoch from {@value WriterElection#EPOCH_COUNTER}
 * above every epoch it promised, promises it, has the other copies promise it (which fences the old
 * writer), replaces the record by compare-and-set and leads. A writer whose store is fenced, or
 * whose record a newer writer replaced, steps down: it follows again and gives the lock back. Runs
 * on the memory verticle's context.
 */
final class ReplicaElection {

  private static final Logger LOG = Logger.getLogger(ReplicaElection.class.getName());

  /** What winning and stepping down do to this node (the verticle: its store, followers, addresses). */
  interface Seat {
    /** This node's copy; null while it is being reopened. */
    MarkdownStore copy();

    /** Writes from {@code record} on (its first batch still waits for followers); a failure steps it down. */
    Future<Void> lead(InSyncRecord record);

    /** Writes no more: back to following, its copy reopened as a replica. */
    void follow();

    /** The node stops: whatever it serves dropped, its copy closed. */
    Future<Void> close();
  }

  /** A takeover this node may not make now; said once in the log, tried again later. */
  private static final class Refusal extends VertxException {
    Refusal(String message) {
      super(message, true);
    }
  }

  private final Vertx vertx;
  private final ElectionStore cluster;
  private final InSyncRecord.Store records;
  private final MemoryNodes nodes;
  private final ReplicaAuth auth;
  private final String node;
  private final int replicas;
  private final Seat seat;
  private Lock clusterLock;
  private boolean writing;
  private boolean acquiring;
  private boolean stopping;
  private long timer = -1;
  private String lastRefusal;

  ReplicaElection(Vertx vertx, ElectionStore cluster, InSyncRecord.Store records, MemoryNodes nodes, ReplicaAuth auth,
                  String node, int replicas, Seat seat) {
    this.vertx = vertx;
    this.cluster = cluster;
    this.records = records;
    this.nodes = nodes;
    this.auth = auth;
    this.node = node;
    this.replicas = replicas;
    this.seat = seat;
  }

  /** True from the moment this copy takes over until it steps down. */
  boolean writing() {
    return writing;
  }

  /** Stands for writer: at once, then every {@value WriterElection#RETRY_MS} ms. */
  void standBy() {
    timer = vertx.setPeriodic(0, WriterElection.RETRY_MS, id -> {
      MarkdownStore copy = seat.copy();
      if (copy != null) {
        nodes.publish(copy.position());
      }
      if (!acquiring && writing && copy != null && !copy.leading()) {
        stepDown("its store no longer writes (a newer writer is known)");
      } else if (!writing) {
        tryLead();
      }
    });
  }

  /** Stands no more: the seat closes, then the cluster lock is given back. */
  Future<Void> stop() {
    stopping = true;
    if (timer >= 0) {
      vertx.cancelTimer(timer);
    }
    return seat.close().onComplete(ignored -> releaseLock());
  }

  /** Stops writing and goes back to following: a newer writer exists, or the takeover failed. */
  void stepDown(String why) {
    if (!writing) {
      return;
    }
    writing = false;
    LOG.warning("memory: node " + node + " stops writing: " + why);
    seat.follow();
    releaseLock();
  }

  private void releaseLock() {
    if (clusterLock != null) {
      clusterLock.release();
      clusterLock = null;
    }
  }

  private void tryLead() {
    MarkdownStore copy = seat.copy();
    if (acquiring || stopping || copy == null) {
      return;
    }
    acquiring = true;
    cluster.lock(WriterElection.LOCK, WriterElection.RETRY_MS).compose(lock -> {
      clusterLock = lock;
      return records.get();
    }).map(record -> {
      if (record != null && record.epoch() < copy.promised()) {
        // signed, but older than an epoch this copy promised: an old value written back; not trusted
        ReplicaAuth.refused("an in-sync record of epoch " + record.epoch() + " (this copy promised epoch "
          + copy.promised() + ")", "an old record written back");
        return null;
      }
      return record;
    }).compose(record -> takeOver(record, copy)).onComplete(ar -> {
      acquiring = false;
      if (ar.failed()) {
        if (ar.cause() instanceof Refusal r) {
          if (!r.getMessage().equals(lastRefusal)) {
            LOG.info("memory: node " + node + " does not take over as writer: " + r.getMessage());
            lastRefusal = r.getMessage();
          }
        } else if (clusterLock != null) {
          LOG.log(Level.WARNING, "memory: node " + node + " could not take over as writer", ar.cause());
        }
        if (!writing) {
          releaseLock();
        }
      }
    });
  }

  /**
   * With the lock: only the last writer or a member of its in-sync set may take over (they hold
   * every acknowledged batch). With no record at all (a new cluster, or one that lost every member
   * at once), the copies that answer must be enough to include one that saw every acknowledged
   * batch, and this one must be as far as any.
   */
  private Future<Void> takeOver(InSyncRecord record, MarkdownStore copy) {
    Optional<String> refused = record == null ? Optional.empty()
      : TakeoverRules.byRecord(record, node, copy.position());
    if (refused.isPresent()) {
      return Future.failedFuture(new Refusal(refused.get()));
    }
    return nextEpoch(copy.promised())
      .compose(epoch -> vertx.executeBlocking(() -> copy.promise(epoch), false).map(p -> epoch))
      .compose(epoch -> record != null ? furthestCheck(epoch, record, copy) : bootstrapCheck(epoch, copy))
      .compose(epoch -> {
        InSyncRecord next = new InSyncRecord(epoch, node, record == null ? Set.of() : record.without(node).members());
        return records.replace(record, next).compose(done -> done ? lead(next)
          : Future.failedFuture(new Refusal("another node changed the in-sync record first")));
      });
  }

  private Future<Void> lead(InSyncRecord record) {
    writing = true;
    return seat.lead(record).onFailure(err -> stepDown("its takeover failed: " + err.getMessage()));
  }

  /**
   * The next epoch from the cluster's counter, and above {@code atLeast}: the counter starts again
   * at 0 when the whole cluster restarts, the epochs the replicas promised do not.
   */
  private Future<Long> nextEpoch(long atLeast) {
    if (atLeast >= ReplicaFollower.MAX_EPOCH) {
      return Future.failedFuture(new Refusal("an epoch of " + atLeast + " was promised: no real epoch is that high"));
    }
    String counter = WriterElection.EPOCH_COUNTER;
    return cluster.addAndGet(counter, 1)
      .compose(e -> e > atLeast ? Future.succeededFuture(e) : cluster.addAndGet(counter, atLeast + 1 - e))
      .compose(e -> e < ReplicaFollower.MAX_EPOCH ? Future.succeededFuture(e)
        // the counter is a plain cluster structure: refuse to take an absurd epoch from it, and say so
        : Future.failedFuture(new Refusal("the cluster's epoch counter reads " + e + ", beyond any real epoch "
          + "(was it tampered with?)")));
  }

  /**
   * Before taking over from a record: the other copies it names are asked to promise the new epoch
   * (so they take no more batches from the old writer) and say where they are; if one is further
   * (this copy was restored from an old backup, say), it should write instead.
   */
  private Future<Long> furthestCheck(long epoch, InSyncRecord record, MarkdownStore copy) {
    Set<String> others = new TreeSet<>(record.members());
    others.add(record.writer());
    List<Future<JsonObject>> answers = askToPromise(others, epoch, 1_000);
    return Future.join(answers).transform(ignored -> TakeoverRules.byAnswers(succeeded(answers), copy.position(), 0)
      .<Future<Long>>map(why -> Future.failedFuture(new Refusal(why))).orElse(Future.succeededFuture(epoch)));
  }

  /** With no record: every memory node published is asked; enough must answer, none further, none promised above. */
  private Future<Long> bootstrapCheck(long epoch, MarkdownStore copy) {
    return nodes.all().compose(all -> {
      List<Future<JsonObject>> answers = askToPromise(all, epoch, 2_000);
      return Future.join(answers).transform(ignored -> {
        for (JsonObject a : succeeded(answers)) {
          if (a.getLong("promised", 0L) > epoch) {
            // a replica follows a later epoch than the counter gave (the cluster restarted): next time above it
            long promised = a.getLong("promised");
            return nextEpoch(promised).compose(e -> Future.failedFuture(new Refusal("replica " + a.getString("node")
              + " promised epoch " + promised + "; trying again above it")));
          }
        }
        return TakeoverRules.byAnswers(succeeded(answers), copy.position(), TakeoverRules.neededWithoutRecord(replicas))
          .<Future<Long>>map(why -> Future.failedFuture(new Refusal(why))).orElse(Future.succeededFuture(epoch));
      });
    });
  }

  /** Asks every other copy in {@code others} to promise {@code epoch}; each answers where it is. */
  private List<Future<JsonObject>> askToPromise(Collection<String> others, long epoch, long timeoutMs) {
    List<Future<JsonObject>> answers = new ArrayList<>();
    for (String other : others) {
      if (!other.equals(node)) {
        String address = ReplicaAddresses.promise(other);
        JsonObject ask = new JsonObject().put("epoch", epoch);
        answers.add(vertx.eventBus().<JsonObject>request(address, ask,
          auth.sign(address, ask, new DeliveryOptions().setSendTimeout(timeoutMs))).compose(reply -> {
            // an answer counts only from the copy asked: one that says it is further decides who writes
            if (!auth.signedBy(other, address + "#answer", reply.headers(), reply.body())
              || !other.equals(reply.body().getString("node"))) {
              ReplicaAuth.refused("an answer to a promise", other);
              return Future.failedFuture("an answer not signed by " + other);
            }
            return Future.succeededFuture(reply.body());
          }));
      }
    }
    return answers;
  }

  private static List<JsonObject> succeeded(List<Future<JsonObject>> answers) {
    return answers.stream().filter(Future::succeeded).map(Future::result).toList();
  }
}
