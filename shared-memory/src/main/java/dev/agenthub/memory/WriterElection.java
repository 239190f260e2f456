package dev.agenthub.memory;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.shareddata.Lock;

import java.nio.file.Path;
import java.util.function.LongFunction;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Which node writes a memory directory of its own ({@code memory.replicas} 1), and in which epoch.
 * Standalone, this node writes if it takes the directory's OS lock, and refuses to start otherwise.
 * Clustered (shared storage), every memory node stands: once a second a node that does not write
 * tries the cluster lock {@value #LOCK}; the one that holds it takes the OS lock too (while a node
 * dying or outside the cluster still holds that, it waits, keeping the cluster lock), then the next
 * epoch of the cluster counter {@value #EPOCH_COUNTER}, and writes; the store raises the epoch above
 * any written to the directory, so a paused old writer cannot write after a takeover. A takeover
 * that fails gives back all it took, the cluster lock last, so that another node (or this one, next
 * time) can try. Runs on the memory verticle's context.
 */
final class WriterElection {

  static final String LOCK = "agenthub.memory.writer";
  static final String EPOCH_COUNTER = "agenthub.memory.epoch";
  /** How often a node that does not write tries to, and how long it waits for the cluster lock. */
  static final long RETRY_MS = 1_000;
  private static final Logger LOG = Logger.getLogger(WriterElection.class.getName());

  private final Vertx vertx;
  private final ElectionStore cluster;
  private final Path dir;
  private final String node;
  private final LongFunction<Future<Void>> write;
  private final Supplier<Future<Void>> vacate;
  private Lock clusterLock;
  private DirectoryLock osLock;
  private boolean writing;
  private boolean acquiring;
  private boolean stopping;
  private long timer = -1;
  private String lastWait;

  /**
   * @param cluster the cluster's lock and counter; null standalone
   * @param write   makes this node the writer in an epoch (opens the store, serves); a failure gives
   *                the directory back
   * @param vacate  makes it write no more (drops what it serves, closes the store), whatever it did
   */
  WriterElection(Vertx vertx, ElectionStore cluster, Path dir, String node, LongFunction<Future<Void>> write,
                 Supplier<Future<Void>> vacate) {
    this.vertx = vertx;
    this.cluster = cluster;
    this.dir = dir;
    this.node = node;
    this.write = write;
    this.vacate = vacate;
  }

  /** True once this node took over, until it stops. */
  boolean writing() {
    return writing;
  }

  /**
   * Standalone: writes, in an epoch from the clock, or fails naming who holds the directory; a failure
   * to open comes once the directory is given back.
   */
  Future<Void> alone() {
    return vertx.executeBlocking(() -> DirectoryLock.attempt(dir, node)).compose(attempt -> {
      if (attempt.lock().isEmpty()) {
        return Future.failedFuture(new IllegalStateException("memory directory " + dir.toAbsolutePath()
          + " is in use by " + attempt.holder() + "; point this node at another memory.dir or stop that one"));
      }
      osLock = attempt.lock().get();
      return take(System.currentTimeMillis()).recover(err -> giveBack().compose(v -> Future.failedFuture(err)));
    });
  }

  /** Clustered: stands for writer, trying at once and then every {@value #RETRY_MS} ms while another writes. */
  void standBy() {
    timer = vertx.setPeriodic(0, RETRY_MS, id -> tryTakeOver());
  }

  /** Stands no more; stops writing if it did, and gives back the OS lock, then the cluster lock. */
  Future<Void> stop() {
    stopping = true;
    if (timer >= 0) {
      vertx.cancelTimer(timer);
    }
    return giveBack();
  }

  private void tryTakeOver() {
    if (acquiring || writing || stopping) {
      return;
    }
    acquiring = true;
    Future<Lock> locked = clusterLock != null ? Future.succeededFuture(clusterLock) : cluster.lock(LOCK, RETRY_MS);
    locked.compose(lock -> {
      clusterLock = lock;
      return vertx.executeBlocking(() -> DirectoryLock.attempt(dir, node));
    }).compose(attempt -> {
      if (attempt.lock().isEmpty()) {
        // the cluster lock is ours but the directory is still held: its holder is dying, or is
        // a process outside this cluster; keep the cluster lock and try again
        String wait = "memory: node " + node + " is next writer of " + dir.toAbsolutePath() + " but "
          + attempt.holder() + " still holds it";
        if (!wait.equals(lastWait)) {
          LOG.warning(wait);
          lastWait = wait;
        }
        return Future.succeededFuture();
      }
      osLock = attempt.lock().get();
      return cluster.addAndGet(EPOCH_COUNTER, 1).compose(this::take);
    }).onComplete(ar -> {
      acquiring = false;
      // without the cluster lock (another node writes, or the cluster could not say) there is nothing to give back
      if (ar.failed() && clusterLock != null) {
        LOG.log(Level.WARNING, "memory: node " + node + " could not take over as writer", ar.cause());
        giveBack();
      }
    });
  }

  private Future<Void> take(long epoch) {
    return write.apply(epoch).onSuccess(v -> writing = true);
  }

  /** Gives back whatever this node took: the store and what it serves, the OS lock, the cluster lock. */
  private Future<Void> giveBack() {
    writing = false;
    DirectoryLock os = osLock;
    osLock = null;
    return vacate.get().transform(vacated -> vertx.executeBlocking(() -> {
      if (os != null) {
        os.close();
      }
      return null;
    }).transform(closed -> {
      Throwable failed = vacated.failed() ? vacated.cause() : closed.failed() ? closed.cause() : null;
      if (failed != null) {
        LOG.log(Level.WARNING, "memory: releasing the directory lock failed", failed);
      }
      if (clusterLock != null) {
        clusterLock.release();
        clusterLock = null;
      }
      return Future.<Void>succeededFuture();
    }));
  }
}
