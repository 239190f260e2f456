package dev.agenthub.memory;

import dev.agenthub.protocol.Failure;
import dev.agenthub.protocol.MessageAuth;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.VertxException;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.shareddata.Lock;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The one writer of the memory directory. Standalone, it takes the directory's OS lock at start or
 * refuses to start, naming the holder. Clustered, every memory node runs one and all but one stand
 * by: the writer holds the cluster lock {@value #CLUSTER_LOCK} and the OS lock, and serves
 * {@code memory.*}; when it leaves or dies, a standby takes both locks, takes a higher fencing epoch,
 * repairs what the crash left (journal replay) and serves from then on.
 *
 * <p>Replicated ({@code replicas >= 2}), each memory node has its own directory and keeps it a copy
 * of the writer's: the standbys follow ({@link ReplicaFollower}), the writer answers a write once
 * its in-sync followers have it on disk ({@link ReplicaSet}), and only an in-sync follower may take
 * over ({@link InSyncRecord}).
 */
public final class SharedMemoryVerticle extends VerticleBase {

  static final String CLUSTER_LOCK = "agenthub.memory.writer";
  private static final String EPOCH_COUNTER = "agenthub.memory.epoch";
  private static final long STANDBY_RETRY_MS = 1_000;
  private static final Logger LOG = Logger.getLogger(SharedMemoryVerticle.class.getName());

  /** Hooks for metrics; all no-ops by default. */
  public interface Listener {
    default void refused(String agent, String op) {
    }

    default void wrote(long nanos) {
    }

    default void becameWriter(long epoch) {
    }
  }

  private final Path dir;
  private final MarkdownStore.Options options;
  private final MemoryPolicy policy;
  private final String node;
  private final boolean clustered;
  private final Listener listener;
  private final int replicas;
  // replicated mode
  private volatile ReplicaFollower follower;
  private volatile ReplicaSet replicaSet;
  private InSyncRecord.Store isrStore;
  private MemoryNodes memoryNodes;
  private ReplicaFeed feed;
  private long replicaTimer = -1;
  private String lastRefusal;
  private volatile MarkdownStore store;
  private DirectoryLock osLock;
  private Lock clusterLock;
  private long standbyTimer = -1;
  private boolean acquiring;
  private boolean stopping;
  private String lastWait;

  private final MessageAuth.Verifier identities;
  private final ReplicaAuth replicaAuth;
  private MemoryRequests requests;
  // the writer's addresses; with replicas, the one every copy serves
  private MemoryConsumers writing;
  private MemoryConsumers copy;
  private ElectionStore cluster;

  /**
   * @param secret the cluster secret that requests' signatures ({@link MessageAuth}) are checked with,
   *               or null to trust the {@code agent} field as given
   */
  public SharedMemoryVerticle(Path dir, MarkdownStore.Options options, MemoryPolicy policy, String node,
                              boolean clustered, Listener listener, byte[] secret) {
    this(dir, options, policy, node, clustered, listener, secret, 1);
  }

  /**
   * @param replicas {@code memory.replicas}: 1 = one directory (shared storage when clustered); 2 or
   *                 more = this node's own directory, replicated (needs a cluster)
   */
  public SharedMemoryVerticle(Path dir, MarkdownStore.Options options, MemoryPolicy policy, String node,
                              boolean clustered, Listener listener, byte[] secret, int replicas) {
    if (replicas > 1 && !clustered) {
      throw new IllegalArgumentException("memory.replicas above 1 needs a cluster");
    }
    if (replicas > 1 && secret == null) {
      // replication trusts no member for being one: every message and record is signed under the secret
      throw new IllegalArgumentException("memory.replicas above 1 needs the cluster secret");
    }
    this.replicaAuth = replicas > 1 ? new ReplicaAuth(secret, node) : null;
    this.replicas = replicas;
    this.identities = secret == null ? null : new MessageAuth.Verifier(secret);
    this.dir = dir;
    this.options = options;
    this.policy = policy;
    this.node = node;
    this.clustered = clustered;
    this.listener = listener;
  }

  /** True while this instance is the active writer. */
  public boolean active() {
    return replicas > 1 ? replicaSet != null && store != null && store.leading() : store != null;
  }

  /**
   * With replicated memory: true while this copy writes, follows in the writer's in-sync set or
   * stands by in sync; false while it catches up or has no writer to follow. Always true otherwise.
   */
  public boolean inSync() {
    if (replicas <= 1) {
      return true;
    }
    ReplicaFollower f = follower;
    return active() || f != null && f.state().inSync();
  }

  @Override
  public Future<?> start() {
    writing = new MemoryConsumers(vertx);
    copy = new MemoryConsumers(vertx);
    requests = new MemoryRequests(vertx, context, node, policy, identities, listener, () -> store,
      () -> follower != null && follower.installing());
    cluster = ElectionStore.cluster(vertx);
    if (replicas > 1) {
      return startReplica();
    }
    if (!clustered) {
      return takeOsLock().compose(lock -> {
        if (lock.lock().isEmpty()) {
          return Future.failedFuture(new IllegalStateException("memory directory " + dir.toAbsolutePath()
            + " is in use by " + lock.holder() + "; point this node at another memory.dir or stop that one"));
        }
        osLock = lock.lock().get();
        return becomeWriter(System.currentTimeMillis()).onFailure(err -> releaseAll());
      });
    }
    standbyTimer = vertx.setPeriodic(0, STANDBY_RETRY_MS, id -> tryTakeOver());
    return Future.succeededFuture();
  }

  @Override
  public Future<?> stop() {
    stopping = true;
    if (standbyTimer >= 0) {
      vertx.cancelTimer(standbyTimer);
    }
    if (replicaTimer >= 0) {
      vertx.cancelTimer(replicaTimer);
    }
    if (replicaSet != null) {
      replicaSet.stop();
    }
    List<Future<Void>> unregistered = new ArrayList<>(List.of(writing.drop(), copy.drop()));
    if (follower != null) {
      unregistered.add(follower.stop());
    }
    return Future.join(unregistered).transform(ignored -> vertx.executeBlocking(() -> {
      if (store != null) {
        store.close();
        store = null;
      }
      if (osLock != null) {
        osLock.close();
        osLock = null;
      }
      return null;
    })).onComplete(ignored -> {
      if (clusterLock != null) {
        clusterLock.release();
        clusterLock = null;
      }
    });
  }

  /**
   * False while a write would wait: no writer answers here, or (replicated) the writer cannot reach
   * enough in-sync copies. Only the writer knows; {@code memory.ping} carries it to every node.
   */
  public boolean writesHeld() {
    ReplicaSet set = replicaSet;
    return set != null && set.writesHeld();
  }

  private void tryTakeOver() {
    if (acquiring || store != null || stopping) {
      return;
    }
    acquiring = true;
    Future<Lock> locked = clusterLock != null ? Future.succeededFuture(clusterLock)
      : cluster.lock(CLUSTER_LOCK, STANDBY_RETRY_MS);
    locked.compose(lock -> {
      clusterLock = lock;
      return takeOsLock();
    }).compose(lock -> {
      if (lock.lock().isEmpty()) {
        // the cluster lock is ours but the directory is still held: its holder is dying, or is
        // a process outside this cluster; keep the cluster lock and try again
        String wait = "memory: node " + node + " is next writer of " + dir.toAbsolutePath() + " but "
          + lock.holder() + " still holds it";
        if (!wait.equals(lastWait)) {
          LOG.warning(wait);
          lastWait = wait;
        }
        return Future.succeededFuture();
      }
      osLock = lock.lock().get();
      return cluster.addAndGet(EPOCH_COUNTER, 1).compose(this::becomeWriter);
    }).onComplete(ar -> {
      acquiring = false;
      if (ar.failed() && !(ar.cause() instanceof VertxException && clusterLock == null)) {
        if (clusterLock != null) {
          LOG.log(Level.WARNING, "memory: node " + node + " could not take over as writer", ar.cause());
        }
        // whatever failed, no lock stays taken: another standby (or this one, next time) must be able to try
        releaseAll();
      }
    });
  }

  /** Gives back whatever a failed takeover took: the store, the OS lock, the cluster lock. */
  private void releaseAll() {
    MarkdownStore opened = store;
    DirectoryLock os = osLock;
    store = null;
    osLock = null;
    writing.drop();
    vertx.executeBlocking(() -> {
      if (opened != null) {
        opened.close();
      }
      if (os != null) {
        os.close();
      }
      return null;
    }).onComplete(ar -> {
      if (ar.failed()) {
        LOG.log(Level.WARNING, "memory: releasing the directory lock failed", ar.cause());
      }
      if (clusterLock != null) {
        clusterLock.release();
        clusterLock = null;
      }
    });
  }

  /** The OS lock if it could be taken, and who holds it (read off the event loop with it). */
  private record OsLock(Optional<DirectoryLock> lock, String holder) {
  }

  private Future<OsLock> takeOsLock() {
    String holder = "node " + node + " (pid " + ProcessHandle.current().pid() + ")";
    return vertx.executeBlocking(() -> {
      Optional<DirectoryLock> lock = DirectoryLock.tryAcquire(dir, holder);
      return new OsLock(lock, lock.isPresent() ? holder : DirectoryLock.holder(dir));
    });
  }

  private Future<Void> becomeWriter(long epoch) {
    return vertx.executeBlocking(() -> MarkdownStore.open(dir, epoch, options, SharedMemoryVerticle::storeLog))
      .compose(opened -> {
        store = opened;
        writing.serve(MemoryAddresses.READ_ANY, requests::readAny);
        registerPing();
        return serveWrites();
      });
  }

  /** Registers the writer's addresses; completes once the cluster knows them. */
  private Future<Void> serveWrites() {
    requests.forgetClaims();
    writing.serve(MemoryAddresses.READ, requests::read);
    writing.serve(MemoryAddresses.WRITE, requests::write);
    writing.serve(MemoryAddresses.LIST, requests::list);
    writing.serve(MemoryAddresses.SEARCH, requests::search);
    return writing.ready().map(v -> {
      LOG.info("memory: node " + node + " is the writer of " + store.root() + " (epoch " + store.epoch() + ")");
      listener.becameWriter(store.epoch());
      return null;
    });
  }

  /**
   * {@code memory.ping}: who writes, in which epoch, and whether writes go through ({@code writes:
   * ok|held}). A replicated writer answers it from the moment it takes over, while its first batch
   * still waits for followers, so that a node can say why writes wait.
   */
  private void registerPing() {
    writing.serve(MemoryAddresses.PING, m -> {
      requests.caller(m, "ping");
      MarkdownStore s = store;
      ReplicaSet set = replicaSet;
      if (s == null) {
        return Future.failedFuture(new Failure(Failure.Kind.UNAVAILABLE, "node " + node
          + " no longer writes"));
      }
      JsonObject pong = new JsonObject().put("writer", node)
        .put("epoch", set != null ? set.record().epoch() : s.epoch());
      if (set != null) {
        boolean held = set.writesHeld() || !s.leading();
        pong.put("writes", held ? "held" : "ok").put("replicas", set.view(s.applied().seq()))
          .put("replicas_wanted", replicas);
      } else {
        pong.put("writes", "ok");
      }
      return Future.succeededFuture(pong);
    });
  }

  // ---------------------------------------------------------------- replicated

  private Future<?> startReplica() {
    isrStore = InSyncRecord.Store.cluster(cluster, replicaAuth);
    memoryNodes = new MemoryNodes(cluster, replicaAuth, node);
    feed = new ReplicaFeed(vertx, context, node, replicaAuth, memoryNodes, () -> store, () -> replicaSet);
    return takeOsLock().compose(lock -> {
      if (lock.lock().isEmpty()) {
        return Future.failedFuture(new IllegalStateException("memory directory " + dir.toAbsolutePath()
          + " is in use by " + lock.holder() + "; with memory.replicas each memory node needs its own memory.dir"));
      }
      osLock = lock.lock().get();
      return vertx.executeBlocking(() -> MarkdownStore.openReplica(dir, options, SharedMemoryVerticle::storeLog));
    }).compose(opened -> {
      store = opened;
      LOG.info("memory: node " + node + " keeps replica " + opened.root() + " of " + replicas + ", at batch "
        + opened.position().seq() + " (epoch " + opened.position().epoch() + ")");
      follower = new ReplicaFollower(vertx, context, node, () -> store, replicaAuth, memoryNodes::known,
        () -> cluster.counter(EPOCH_COUNTER));
      copy.serve(MemoryAddresses.READ_ANY, requests::readAny);
      return Future.all(follower.start(), copy.ready());
    }).onSuccess(v -> replicaTimer = vertx.setPeriodic(0, STANDBY_RETRY_MS, id -> {
      MarkdownStore s = store;
      if (s != null) {
        memoryNodes.publish(s.position());
      }
      if (!acquiring && replicaSet != null && store != null && !store.leading()) {
        stepDown("its store no longer writes (a newer writer is known)");
      } else if (replicaSet == null) {
        tryLead();
      }
    })).onFailure(err -> {
      if (osLock != null) {
        vertx.executeBlocking(() -> {
          osLock.close();
          return null;
        });
      }
    });
  }

  /**
   * A takeover, tried once a second while no writer holds the cluster lock: only the last writer or
   * a member of its in-sync set may take over (they hold every acknowledged batch). With no record
   * at all (a new cluster, or one that lost every member at once), the replicas that answer must be
   * enough to include one that saw every acknowledged batch, and this one must be as far as any.
   */
  private void tryLead() {
    if (acquiring || stopping || store == null) {
      return;
    }
    acquiring = true;
    cluster.lock(CLUSTER_LOCK, STANDBY_RETRY_MS).compose(lock -> {
      clusterLock = lock;
      return isrStore.get();
    }).map(record -> {
      if (record != null && record.epoch() < store.promised()) {
        // signed, but older than an epoch this copy promised: an old value written back; not trusted
        ReplicaAuth.refused("an in-sync record of epoch " + record.epoch() + " (this copy promised epoch "
          + store.promised() + ")", "an old record written back");
        return null;
      }
      return record;
    }).compose(record -> {
      Optional<String> refused = record == null ? Optional.empty()
        : TakeoverRules.byRecord(record, node, store.position());
      if (refused.isPresent()) {
        return Future.failedFuture(new Refusal(refused.get()));
      }
      return nextEpoch(store.promised())
        .compose(epoch -> vertx.executeBlocking(() -> store.promise(epoch), false).map(p -> epoch))
        .compose(epoch -> record != null ? furthestCheck(epoch, record) : bootstrapCheck(epoch))
        .compose(epoch -> {
          InSyncRecord next = new InSyncRecord(epoch, node, record == null ? Set.of()
            : record.without(node).members());
          return isrStore.replace(record, next).compose(done -> done ? lead(next)
            : Future.failedFuture(new Refusal("another node changed the in-sync record first")));
        });
    }).onComplete(ar -> {
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
        if (replicaSet == null && clusterLock != null) {
          clusterLock.release();
          clusterLock = null;
        }
      }
    });
  }

  /**
   * The next epoch from the cluster's counter, and above {@code atLeast}: the counter starts again
   * at 0 when the whole cluster restarts, the epochs the replicas promised do not.
   */
  private Future<Long> nextEpoch(long atLeast) {
    if (atLeast >= ReplicaFollower.MAX_EPOCH) {
      return Future.failedFuture(new Refusal("an epoch of " + atLeast + " was promised: no real epoch is that high"));
    }
    return cluster.addAndGet(EPOCH_COUNTER, 1)
      .compose(e -> e > atLeast ? Future.succeededFuture(e) : cluster.addAndGet(EPOCH_COUNTER, atLeast + 1 - e))
      .compose(e -> e < ReplicaFollower.MAX_EPOCH ? Future.succeededFuture(e)
        // the counter is a plain cluster structure: refuse to take an absurd epoch from it, and say so
        : Future.failedFuture(new Refusal("the cluster's epoch counter reads " + e + ", beyond any real epoch "
          + "(was it tampered with?)")));
  }

  /** A takeover this node may not make now; said once in the log, tried again later. */
  private static final class Refusal extends VertxException {
    Refusal(String message) {
      super(message, true);
    }
  }

  /**
   * Before taking over from a record: the other copies it names are asked to promise the new epoch
   * (so they take no more batches from the old writer) and say where they are; if one is further
   * (this copy was restored from an old backup, say), it should write instead.
   */
  private Future<Long> furthestCheck(long epoch, InSyncRecord record) {
    Set<String> others = new TreeSet<>(record.members());
    others.add(record.writer());
    List<Future<JsonObject>> answers = askToPromise(others, epoch, 1_000);
    return Future.join(answers).transform(ignored -> TakeoverRules.byAnswers(succeeded(answers), store.position(), 0)
      .<Future<Long>>map(why -> Future.failedFuture(new Refusal(why))).orElse(Future.succeededFuture(epoch)));
  }

  /** Asks every other copy in {@code nodes} to promise {@code epoch}; each answers where it is. */
  private List<Future<JsonObject>> askToPromise(Collection<String> nodes, long epoch, long timeoutMs) {
    List<Future<JsonObject>> answers = new ArrayList<>();
    for (String other : nodes) {
      if (!other.equals(node)) {
        String address = ReplicaAddresses.promise(other);
        JsonObject ask = new JsonObject().put("epoch", epoch);
        answers.add(vertx.eventBus().<JsonObject>request(address, ask,
          replicaAuth.sign(address, ask, new DeliveryOptions().setSendTimeout(timeoutMs))).compose(reply -> {
            // an answer counts only from the copy asked: one that says it is further decides who writes
            if (!replicaAuth.signedBy(other, address + "#answer", reply.headers(), reply.body())
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

  private Future<Long> bootstrapCheck(long epoch) {
    return memoryNodes.all().compose(nodes -> {
      List<Future<JsonObject>> answers = askToPromise(nodes, epoch, 2_000);
      return Future.join(answers).transform(ignored -> {
        for (JsonObject a : succeeded(answers)) {
          if (a.getLong("promised", 0L) > epoch) {
            // a replica follows a later epoch than the counter gave (the cluster restarted): next time above it
            long promised = a.getLong("promised");
            return nextEpoch(promised).compose(e -> Future.failedFuture(new Refusal("replica " + a.getString("node")
              + " promised epoch " + promised + "; trying again above it")));
          }
        }
        return TakeoverRules.byAnswers(succeeded(answers), store.position(), TakeoverRules.neededWithoutRecord(replicas))
          .<Future<Long>>map(why -> Future.failedFuture(new Refusal(why))).orElse(Future.succeededFuture(epoch));
      });
    });
  }

  private Future<Void> lead(InSyncRecord record) {
    follower.pause();
    replicaSet = new ReplicaSet(vertx, context, node, replicas, record, isrStore, replicaAuth,
      () -> stepDown("a newer writer took over"));
    replicaSet.start();
    writing.serveReplying(ReplicaAddresses.FETCH, feed::fetch);
    writing.serveReplying(ReplicaAddresses.SNAPSHOT, feed::snapshot);
    registerPing();
    LOG.info("memory: node " + node + " takes over as writer (epoch " + record.epoch() + ", in sync: "
      + (record.members().isEmpty() ? "none yet" : String.join(", ", record.members())) + "); waits for "
      + ReplicaSet.followersNeeded(replicas) + " follower(s) to hold its batches");
    return Future.fromCompletionStage(store.lead(record.epoch(), replicaSet), context)
      .compose(p -> serveWrites())
      .onFailure(err -> stepDown("its takeover failed: " + err.getMessage()));
  }

  /** Stops writing and goes back to following: a newer writer exists, or the takeover failed. */
  private void stepDown(String why) {
    if (replicaSet == null) {
      return;
    }
    LOG.warning("memory: node " + node + " stops writing: " + why);
    replicaSet.stop();
    replicaSet = null;
    writing.drop();
    if (clusterLock != null) {
      clusterLock.release();
      clusterLock = null;
    }
    MarkdownStore old = store;
    store = null;
    // reopened as a replica: what it wrote but never got acknowledged is repaired away by catching up
    vertx.executeBlocking(() -> {
      old.close();
      return MarkdownStore.openReplica(dir, options, SharedMemoryVerticle::storeLog);
    }).onComplete(ar -> {
      if (ar.succeeded()) {
        store = ar.result();
        follower.reset();
      } else {
        LOG.log(Level.SEVERE, "memory: node " + node + " could not reopen its replica", ar.cause());
      }
    });
  }

  private static void storeLog(String line) {
    if (line.contains("repaired ") && !line.contains(" 0 repaired") || line.contains("torn")
      || line.contains("failed") || line.contains("replaced")) {
      LOG.warning(line);
    } else {
      LOG.info(line);
    }
  }
}
