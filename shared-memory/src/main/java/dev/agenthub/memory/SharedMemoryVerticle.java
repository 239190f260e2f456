package dev.agenthub.memory;

import dev.agenthub.protocol.Failure;
import dev.agenthub.protocol.MessageAuth;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.json.JsonObject;

import java.nio.file.Path;
import java.util.logging.Logger;

/**
 * The one writer of the memory directory: its lifecycle and wiring. Standalone, it writes its
 * directory or refuses to start, naming the holder; clustered, every memory node runs one and one of
 * them writes, chosen by {@link WriterElection} (one shared directory) or {@link ReplicaElection}
 * (replicated); while it writes it serves {@code memory.*} ({@link MemoryRequests}).
 *
 * <p>Replicated ({@code replicas >= 2}), each memory node has its own directory and keeps it a copy
 * of the writer's: the standbys follow ({@link ReplicaFollower}) and answer {@code memory.read.any};
 * the writer answers a write once its in-sync followers have it on disk ({@link ReplicaSet}) and
 * feeds the followers that catch up ({@link ReplicaFeed}).
 */
public final class SharedMemoryVerticle extends VerticleBase {

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
  private final MessageAuth.Verifier identities;
  private final ReplicaAuth replicaAuth;
  private MemoryRequests requests;
  private MemoryConsumers writerAddresses;
  // one directory: its store while this node writes it
  private volatile MarkdownStore store;
  private WriterElection election;
  // replicated
  private volatile ReplicaCopy replica;
  private ReplicaElection replicaElection;
  private MemoryConsumers copyAddresses;

  /** @param secret the secret requests' signatures are checked with, or null to trust their {@code agent} */
  public SharedMemoryVerticle(Path dir, MarkdownStore.Options options, MemoryPolicy policy, String node,
                              boolean clustered, Listener listener, byte[] secret) {
    this(dir, options, policy, node, clustered, listener, secret, 1, null);
  }

  /**
   * @param replicas {@code memory.replicas}: 1 = one directory (shared storage when clustered); 2 or
   *                 more = this node's own directory, replicated (needs a cluster)
   * @param localKey the node's local key ({@link MessageAuth#newLocalKey}), whose local signatures
   *                 its own requests carry; null: this process's
   */
  public SharedMemoryVerticle(Path dir, MarkdownStore.Options options, MemoryPolicy policy, String node,
                              boolean clustered, Listener listener, byte[] secret, int replicas, byte[] localKey) {
    if (replicas > 1 && !clustered) {
      throw new IllegalArgumentException("memory.replicas above 1 needs a cluster");
    }
    if (replicas > 1 && secret == null) {
      // replication trusts no member for being one: every message and record is signed under the secret
      throw new IllegalArgumentException("memory.replicas above 1 needs the cluster secret");
    }
    this.replicaAuth = replicas > 1 ? new ReplicaAuth(secret, node) : null;
    this.replicas = replicas;
    this.identities = secret == null ? null
      : localKey == null ? new MessageAuth.Verifier(secret) : new MessageAuth.Verifier(secret, localKey);
    this.dir = dir;
    this.options = options;
    this.policy = policy;
    this.node = node;
    this.clustered = clustered;
    this.listener = listener;
  }

  /** True while this instance is the active writer. */
  public boolean active() {
    ReplicaCopy r = replica;
    return r != null ? r.writing() : store != null;
  }

  /**
   * With replicated memory: true while this copy writes, follows in the writer's in-sync set or
   * stands by in sync; false while it catches up or has no writer to follow. Always true otherwise.
   */
  public boolean inSync() {
    ReplicaCopy r = replica;
    return replicas <= 1 || r != null && r.inSync();
  }

  /**
   * False while a write would wait: no writer answers here, or (replicated) the writer cannot reach
   * enough in-sync copies. Only the writer knows; {@code memory.ping} carries it to every node.
   */
  public boolean writesHeld() {
    ReplicaCopy r = replica;
    return r != null && r.writesHeld();
  }

  @Override
  public Future<?> start() {
    requests = new MemoryRequests(vertx, context, node, policy, identities, listener, this::store,
      () -> replica != null && replica.installing());
    writerAddresses = new MemoryConsumers(vertx);
    if (replicas > 1) {
      return startReplica();
    }
    election = new WriterElection(vertx, clustered ? ElectionStore.cluster(vertx) : null, dir, node,
      this::becomeWriter, this::stopWriting);
    if (!clustered) {
      return election.alone();
    }
    election.standBy();
    return Future.succeededFuture();
  }

  @Override
  public Future<?> stop() {
    return replicaElection != null ? replicaElection.stop() : election.stop();
  }

  /** The store opened as the writer in {@code epoch} (or above, as the directory says), then its addresses. */
  private Future<Void> becomeWriter(long epoch) {
    return vertx.executeBlocking(() -> MarkdownStore.open(dir, epoch, options, SharedMemoryVerticle::storeLog))
      .compose(opened -> {
        store = opened;
        writerAddresses.serve(MemoryAddresses.READ_ANY, requests::readAny);
        servePing();
        return serveWrites();
      });
  }

  private Future<Void> stopWriting() {
    MarkdownStore opened = store;
    store = null;
    return writerAddresses.drop().transform(ignored -> vertx.executeBlocking(() -> {
      if (opened != null) {
        opened.close();
      }
      return null;
    }));
  }

  /** Serves the writer's addresses; completes once the cluster knows them. */
  private Future<Void> serveWrites() {
    requests.forgetClaims();
    writerAddresses.serve(MemoryAddresses.READ, requests::read);
    writerAddresses.serve(MemoryAddresses.WRITE, requests::write);
    writerAddresses.serve(MemoryAddresses.LIST, requests::list);
    writerAddresses.serve(MemoryAddresses.SEARCH, requests::search);
    return writerAddresses.ready().map(v -> {
      MarkdownStore s = store();
      LOG.info("memory: node " + node + " is the writer of " + s.root() + " (epoch " + s.epoch() + ")");
      listener.becameWriter(s.epoch());
      return null;
    });
  }

  /**
   * {@code memory.ping}: who writes, in which epoch, and whether writes go through ({@code writes:
   * ok|held}). A replicated writer answers it from the moment it takes over, while its first batch
   * still waits for followers, so that a node can say why writes wait.
   */
  private void servePing() {
    writerAddresses.serve(MemoryAddresses.PING, m -> {
      requests.caller(m, "ping");
      MarkdownStore s = store();
      ReplicaSet set = replica != null ? replica.replicaSet() : null;
      if (s == null) {
        throw new Failure(Failure.Kind.UNAVAILABLE, "node " + node + " no longer writes");
      }
      JsonObject pong = new JsonObject().put("writer", node);
      if (set == null) {
        return Future.succeededFuture(pong.put("epoch", s.epoch()).put("writes", "ok"));
      }
      boolean held = set.writesHeld() || !s.leading();
      return Future.succeededFuture(pong.put("epoch", set.record().epoch()).put("writes", held ? "held" : "ok")
        .put("replicas", set.view(s.applied().seq())).put("replicas_wanted", replicas));
    });
  }

  private Future<?> startReplica() {
    ElectionStore cluster = ElectionStore.cluster(vertx);
    replica = new ReplicaCopy(vertx, context, dir, options, node, replicas, replicaAuth, cluster,
      SharedMemoryVerticle::storeLog);
    copyAddresses = new MemoryConsumers(vertx);
    replicaElection = new ReplicaElection(vertx, cluster, replica.records(), replica.nodes(), replicaAuth, node,
      replicas, new ReplicaElection.Seat() {
        @Override
        public MarkdownStore copy() {
          return replica.store();
        }

        @Override
        public Future<Void> lead(InSyncRecord record) {
          Future<Void> led = replica.lead(record, () -> replicaElection.stepDown("a newer writer took over"));
          writerAddresses.serveReplying(ReplicaAddresses.FETCH, replica.feed()::fetch);
          writerAddresses.serveReplying(ReplicaAddresses.SNAPSHOT, replica.feed()::snapshot);
          servePing();
          return led.compose(v -> serveWrites());
        }

        @Override
        public void follow() {
          writerAddresses.drop();
          replica.follow();
        }

        @Override
        public Future<Void> close() {
          return Future.join(writerAddresses.drop(), copyAddresses.drop()).transform(ignored -> replica.close());
        }
      });
    return replica.open().compose(v -> {
      copyAddresses.serve(MemoryAddresses.READ_ANY, requests::readAny);
      return copyAddresses.ready();
    }).onSuccess(v -> replicaElection.standBy()).onFailure(err -> replica.close());
  }

  /** The store requests go to: this copy's, or (one directory) the writer's; null while there is none. */
  private MarkdownStore store() {
    ReplicaCopy r = replica;
    return r != null ? r.store() : store;
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
