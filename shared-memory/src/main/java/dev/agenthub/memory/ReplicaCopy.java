package dev.agenthub.memory;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;

import java.nio.file.Path;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * This node's copy of replicated memory, in its own directory (no other process may hold it): a
 * replica that follows the writer ({@link ReplicaFollower}), until its election makes it lead (its
 * batches sent to its followers by {@link ReplicaSet}), and a replica again when it steps down. On
 * the memory verticle's context; the verticle serves its addresses.
 */
final class ReplicaCopy {

  private static final Logger LOG = Logger.getLogger(ReplicaCopy.class.getName());

  private final Vertx vertx;
  private final Context context;
  private final Path dir;
  private final MarkdownStore.Options options;
  private final String node;
  private final int replicas;
  private final ReplicaAuth auth;
  private final ElectionStore cluster;
  private final Consumer<String> storeLog;
  private final InSyncRecord.Store records;
  private final MemoryNodes nodes;
  private final ReplicaFeed feed;
  private DirectoryLock osLock;
  private volatile MarkdownStore store;
  private volatile ReplicaFollower follower;
  private volatile ReplicaSet replicaSet;

  ReplicaCopy(Vertx vertx, Context context, Path dir, MarkdownStore.Options options, String node, int replicas,
              ReplicaAuth auth, ElectionStore cluster, Consumer<String> storeLog) {
    this.vertx = vertx;
    this.context = context;
    this.dir = dir;
    this.options = options;
    this.node = node;
    this.replicas = replicas;
    this.auth = auth;
    this.cluster = cluster;
    this.storeLog = storeLog;
    this.records = InSyncRecord.Store.cluster(cluster, auth);
    this.nodes = new MemoryNodes(cluster, auth, node);
    this.feed = new ReplicaFeed(vertx, context, node, auth, nodes, () -> store, () -> replicaSet);
  }

  /** The store of this copy; null while it is being reopened. */
  MarkdownStore store() {
    return store;
  }

  /** Its followers while it leads, else null. */
  ReplicaSet replicaSet() {
    return replicaSet;
  }

  InSyncRecord.Store records() {
    return records;
  }

  MemoryNodes nodes() {
    return nodes;
  }

  /** The writer's answers to followers that catch up, served while this copy leads. */
  ReplicaFeed feed() {
    return feed;
  }

  /** True while it writes: it leads and its store was not fenced. */
  boolean writing() {
    MarkdownStore s = store;
    return replicaSet != null && s != null && s.leading();
  }

  /** True while it leads and a write would wait (too few followers in sync, one lagging, or fenced). */
  boolean writesHeld() {
    ReplicaSet set = replicaSet;
    return set != null && set.writesHeld();
  }

  /** True while it writes, follows in the writer's in-sync set or stands by in sync. */
  boolean inSync() {
    ReplicaFollower f = follower;
    return writing() || f != null && f.state().inSync();
  }

  /** True while a snapshot is being installed: its files are not whole. */
  boolean installing() {
    ReplicaFollower f = follower;
    return f != null && f.installing();
  }

  /** Takes the directory (or fails naming its holder), opens it as a replica and follows; close it after a failure. */
  Future<Void> open() {
    return vertx.executeBlocking(() -> DirectoryLock.attempt(dir, node)).compose(attempt -> {
      if (attempt.lock().isEmpty()) {
        return Future.failedFuture(new IllegalStateException("memory directory " + dir.toAbsolutePath()
          + " is in use by " + attempt.holder() + "; with memory.replicas each memory node needs its own memory.dir"));
      }
      osLock = attempt.lock().get();
      return vertx.executeBlocking(() -> MarkdownStore.openReplica(dir, options, storeLog));
    }).compose(opened -> {
      store = opened;
      LOG.info("memory: node " + node + " keeps replica " + opened.root() + " of " + replicas + ", at batch "
        + opened.position().seq() + " (epoch " + opened.position().epoch() + ")");
      follower = new ReplicaFollower(vertx, context, node, () -> store, auth, nodes::known,
        () -> cluster.counter(WriterElection.EPOCH_COUNTER));
      return follower.start();
    });
  }

  /**
   * Leads from {@code record}: completes once its first batch is held by enough followers.
   * {@code onFenced} runs when a newer writer is known.
   */
  Future<Void> lead(InSyncRecord record, Runnable onFenced) {
    follower.pause();
    replicaSet = new ReplicaSet(vertx, context, node, replicas, record, records, auth, onFenced);
    replicaSet.start();
    LOG.info("memory: node " + node + " takes over as writer (epoch " + record.epoch() + ", in sync: "
      + (record.members().isEmpty() ? "none yet" : String.join(", ", record.members())) + "); waits for "
      + ReplicaSet.followersNeeded(replicas) + " follower(s) to hold its batches");
    return Future.fromCompletionStage(store.lead(record.epoch(), replicaSet), context).mapEmpty();
  }

  /** Stepped down: follows again, its store reopened as a replica (what it wrote unacknowledged is repaired away). */
  void follow() {
    replicaSet.stop();
    replicaSet = null;
    MarkdownStore old = store;
    store = null;
    vertx.executeBlocking(() -> {
      old.close();
      return MarkdownStore.openReplica(dir, options, storeLog);
    }).onComplete(ar -> {
      if (ar.succeeded()) {
        store = ar.result();
        follower.reset();
      } else {
        LOG.log(Level.SEVERE, "memory: node " + node + " could not reopen its replica", ar.cause());
      }
    });
  }

  /** Stops following or leading, then closes the store and gives the directory back. */
  Future<Void> close() {
    if (replicaSet != null) {
      replicaSet.stop();
    }
    Future<Void> following = follower != null ? follower.stop() : Future.succeededFuture();
    return following.transform(ignored -> vertx.executeBlocking(() -> {
      if (store != null) {
        store.close();
        store = null;
      }
      if (osLock != null) {
        osLock.close();
        osLock = null;
      }
      return null;
    }));
  }
}
