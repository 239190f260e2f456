package dev.agenthub.memory;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.VertxException;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.shareddata.Lock;
import io.vertx.core.tracing.TracingPolicy;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The one writer of the memory directory. Standalone, it takes the directory's OS lock at start or
 * refuses to start, naming the holder. Clustered, every memory node runs one and all but one stand
 * by: the writer holds the cluster lock {@value #CLUSTER_LOCK} and the OS lock, and serves
 * {@code memory.*}; when it leaves or dies, a standby takes both locks, takes a higher fencing epoch,
 * repairs what the crash left (journal replay) and serves from then on.
 */
public final class SharedMemoryVerticle extends VerticleBase {

  private static final DeliveryOptions NOTICE = new DeliveryOptions().setTracingPolicy(TracingPolicy.IGNORE);

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
  private final List<MessageConsumer<JsonObject>> consumers = new ArrayList<>();
  private MarkdownStore store;
  private DirectoryLock osLock;
  private Lock clusterLock;
  private long standbyTimer = -1;
  private boolean acquiring;
  private boolean stopping;
  private String lastWait;

  private final AgentIdentity.Verifier identities;
  // session claims: the newest per transcript, on the event loop; see claimAndRead
  private static final int MAX_CLAIMS = 200_000;
  private long claimSeq;
  private long forgottenClaims;
  private final LinkedHashMap<String, Long> claims = new LinkedHashMap<>(1024, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Long> eldest) {
      if (size() > MAX_CLAIMS) {
        forgottenClaims = Math.max(forgottenClaims, eldest.getValue());
        return true;
      }
      return false;
    }
  };

  /**
   * @param secret the cluster secret that agent identity tokens are checked with, or null to trust
   *               the {@code agent} field as given
   */
  public SharedMemoryVerticle(Path dir, MarkdownStore.Options options, MemoryPolicy policy, String node,
                              boolean clustered, Listener listener, byte[] secret) {
    this.identities = secret == null ? null : new AgentIdentity.Verifier(secret);
    this.dir = dir;
    this.options = options;
    this.policy = policy;
    this.node = node;
    this.clustered = clustered;
    this.listener = listener;
  }

  /** True while this instance is the active writer. */
  public boolean active() {
    return store != null;
  }

  @Override
  public Future<?> start() {
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
    List<Future<Void>> unregistered = new ArrayList<>();
    consumers.forEach(c -> unregistered.add(c.unregister()));
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

  private void tryTakeOver() {
    if (acquiring || store != null || stopping) {
      return;
    }
    acquiring = true;
    Future<Lock> cluster = clusterLock != null ? Future.succeededFuture(clusterLock)
      : vertx.sharedData().getLockWithTimeout(CLUSTER_LOCK, STANDBY_RETRY_MS);
    cluster.compose(lock -> {
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
      return vertx.sharedData().getCounter(EPOCH_COUNTER).compose(c -> c.incrementAndGet())
        .compose(this::becomeWriter);
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
    consumers.forEach(MessageConsumer::unregister);
    consumers.clear();
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
        claims.clear();
        forgottenClaims = 0;
        register(MemoryAddresses.READ, this::read);
        register(MemoryAddresses.WRITE, this::write);
        register(MemoryAddresses.LIST, this::list);
        register(MemoryAddresses.SEARCH, this::search);
        register(MemoryAddresses.PING, m -> Future.succeededFuture(
          new JsonObject().put("writer", node).put("epoch", store.epoch())));
        List<Future<Void>> ready = new ArrayList<>();
        consumers.forEach(c -> ready.add(c.completion()));
        return Future.all(ready);
      })
      .map(v -> {
        LOG.info("memory: node " + node + " is the writer of " + store.root() + " (epoch " + store.epoch() + ")");
        listener.becameWriter(store.epoch());
        return null;
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

  private void register(String address, Function<Message<JsonObject>, Future<JsonObject>> handler) {
    consumers.add(vertx.eventBus().consumer(address, (Message<JsonObject> m) -> {
      Future<JsonObject> result;
      try {
        result = handler.apply(m);
      } catch (MemoryException e) {
        result = Future.failedFuture(e);
      } catch (RuntimeException e) {
        // unexpected: a field of the wrong type, or a bug; said once, with its cause, then answered
        LOG.log(Level.WARNING, "memory: malformed request on " + address, e);
        result = Future.failedFuture(new MemoryException(MemoryException.Kind.INVALID, "malformed memory request"));
      }
      result.onSuccess(m::reply).onFailure(err -> {
        if (err instanceof MemoryException me) {
          m.fail(me.kind().status(), me.getMessage());
        } else {
          LOG.log(Level.WARNING, "memory: " + address + " failed unexpectedly", err);
          m.fail(MemoryException.Kind.IO.status(), "memory operation failed");
        }
      });
    }));
  }

  private String agent(Message<JsonObject> m, String op) {
    String agent = m.body().getString("agent");
    if (agent == null || !policy.known(agent)) {
      listener.refused(String.valueOf(agent), op);
      throw new MemoryException(MemoryException.Kind.REFUSED, "unknown agent '" + agent + "'");
    }
    if (identities != null && !identities.verify(agent, m.body().getString("agent_token"))) {
      listener.refused(agent, "identity");
      throw new MemoryException(MemoryException.Kind.REFUSED, "the request does not prove it comes from agent '"
        + agent + "'");
    }
    return agent;
  }

  private MemoryPath readable(String agent, String path, String op) {
    MemoryPath p = MemoryPath.of(path);
    if (!policy.canRead(agent, p)) {
      listener.refused(agent, op);
      throw new MemoryException(MemoryException.Kind.REFUSED, "agent '" + agent + "' may not read " + p.value());
    }
    return p;
  }

  private Future<JsonObject> read(Message<JsonObject> m) {
    String agent = agent(m, "read");
    MemoryPath path = readable(agent, m.body().getString("path"), "read");
    if (m.body().getBoolean("claim", false)) {
      return claimAndRead(agent, path);
    }
    String section = m.body().getString("section");
    MarkdownStore s = store;
    return vertx.executeBlocking(() -> section == null ? s.read(path.value()) : s.readSection(path.value(), section), false)
      .map(text -> new JsonObject().put("path", path.value()).put("text", text));
  }

  /**
   * Session ownership: an agent instance that takes a session (its first turn there, or the first
   * since the session moved) claims the transcript while reading it back, and writes it under that
   * claim. A newer claim fences the older one: an instance that lost the session (rebalancing, a
   * paused node declared dead) can no longer write it, so two instances never both carry a session
   * on. Claims are numbered by this writer in the order it sees them; a new writer (after a takeover)
   * knows none, so every session is claimed again once. Bounded: the oldest are forgotten, and a
   * claim not newer than the newest forgotten one must be taken again.
   */
  private Future<JsonObject> claimAndRead(String agent, MemoryPath path) {
    if (!policy.canWrite(agent, path)) {
      listener.refused(agent, "claim");
      throw new MemoryException(MemoryException.Kind.REFUSED, "agent '" + agent + "' may not claim " + path.value());
    }
    long claim = ++claimSeq;
    claims.put(path.value(), claim);
    MarkdownStore s = store;
    String token = s.epoch() + "." + claim;
    // the read must see every write accepted before the claim, even one still being applied
    return Future.fromCompletionStage(s.barrier(), context)
      .compose(v -> vertx.executeBlocking(() -> {
        try {
          return s.read(path.value());
        } catch (MemoryException e) {
          if (e.kind() == MemoryException.Kind.NOT_FOUND) {
            return "";
          }
          throw e;
        }
      }, false))
      .map(text -> new JsonObject().put("path", path.value()).put("text", text).put("claim", token));
  }

  /** Refuses a write under a claim that is no longer this path's newest. */
  private void checkClaim(String path, String token) {
    long epoch;
    long claim;
    try {
      int dot = token.indexOf('.');
      epoch = Long.parseLong(token.substring(0, dot));
      claim = Long.parseLong(token.substring(dot + 1));
    } catch (RuntimeException e) {
      throw new MemoryException(MemoryException.Kind.INVALID, "malformed session claim");
    }
    if (epoch != store.epoch()) {
      throw new MemoryException(MemoryException.Kind.STALE_CLAIM, "the memory writer changed since " + path
        + " was claimed: claim it again");
    }
    Long newest = claims.get(path);
    if (newest == null) {
      if (claim <= forgottenClaims) {
        throw new MemoryException(MemoryException.Kind.STALE_CLAIM, "the claim on " + path
          + " is too old to check: claim it again");
      }
      claims.put(path, claim);
    } else if (claim < newest) {
      throw new MemoryException(MemoryException.Kind.FENCED, path + " was claimed by another instance since: "
        + "this one no longer writes it");
    }
  }

  private Future<JsonObject> write(Message<JsonObject> m) {
    String agent = agent(m, "write");
    JsonObject body = m.body();
    MemoryPath path = MemoryPath.of(body.getString("path"));
    if (!policy.canWrite(agent, path)) {
      listener.refused(agent, "write");
      throw new MemoryException(MemoryException.Kind.REFUSED, "agent '" + agent + "' may not write " + path.value());
    }
    String claim = body.getString("claim");
    if (claim != null) {
      checkClaim(path.value(), claim);
    }
    String op = body.getString("op", "append");
    String writeId = body.getString("write_id");
    long started = System.nanoTime();
    var pending = switch (op) {
      case "append" -> store.append(path.value(), body.getString("author", agent), body.getString("text"), writeId);
      case "replace" -> store.replace(path.value(), body.getString("text"), writeId);
      default -> throw new MemoryException(MemoryException.Kind.INVALID, "op must be append or replace");
    };
    return Future.fromCompletionStage(pending, context).map(result -> {
      listener.wrote(System.nanoTime() - started);
      if (!result.duplicate()) {
        // a notice to whoever listens, not a step of the write: no span of the writer's trace
        vertx.eventBus().publish(MemoryAddresses.CHANGED, new JsonObject().put("path", result.path())
          .put("bytes", result.bytes()).put("op", op), NOTICE);
      }
      return new JsonObject().put("path", result.path()).put("bytes", result.bytes())
        .put("duplicate", result.duplicate());
    });
  }

  private Future<JsonObject> list(Message<JsonObject> m) {
    String agent = agent(m, "list");
    String prefix = m.body().getString("prefix", "");
    MarkdownStore s = store;
    return vertx.executeBlocking(() -> {
      JsonArray files = new JsonArray();
      for (MarkdownStore.FileInfo f : s.list(prefix)) {
        if (policy.canRead(agent, MemoryPath.of(f.path()))) {
          files.add(new JsonObject().put("path", f.path()).put("bytes", f.bytes()));
        }
      }
      return new JsonObject().put("files", files);
    }, false);
  }

  private Future<JsonObject> search(Message<JsonObject> m) {
    String agent = agent(m, "search");
    String query = m.body().getString("query");
    boolean regex = m.body().getBoolean("regex", false);
    String prefix = m.body().getString("prefix");
    List<String> prefixes = new ArrayList<>();
    for (String p : policy.readable(agent)) {
      if (prefix == null || prefix.isEmpty()) {
        prefixes.add(p);
      } else if (p.isEmpty() || prefix.equals(p) || prefix.startsWith(p + "/")) {
        prefixes.add(prefix);
      }
    }
    MarkdownStore s = store;
    return vertx.executeBlocking(() -> {
      JsonArray hits = new JsonArray();
      if (!prefixes.isEmpty()) {
        for (MarkdownStore.SearchHit h : s.search(query, regex, prefixes)) {
          hits.add(new JsonObject().put("path", h.path()).put("line", h.line()).put("excerpt", h.excerpt()));
        }
      }
      return new JsonObject().put("hits", hits);
    }, false);
  }
}
