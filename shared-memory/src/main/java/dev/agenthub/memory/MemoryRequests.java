package dev.agenthub.memory;

import dev.agenthub.protocol.Failure;
import dev.agenthub.protocol.MessageAuth;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.tracing.TracingPolicy;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * The memory requests, as the writer (and, for {@code memory.read.any}, every copy) answers them:
 * who asks (the request's signature, policy), what they may read and write, session claims, and the store
 * call. On the memory verticle's context; the verticle decides when they are served.
 */
final class MemoryRequests {

  private static final DeliveryOptions NOTICE = new DeliveryOptions().setTracingPolicy(TracingPolicy.IGNORE);
  // session claims: the newest per transcript, on the event loop; see claimAndRead
  private static final int MAX_CLAIMS = 200_000;

  private final Vertx vertx;
  private final Context context;
  private final String node;
  private final MemoryPolicy policy;
  private final MessageAuth.Verifier identities;
  private final SharedMemoryVerticle.Listener listener;
  private final Supplier<MarkdownStore> store;
  private final BooleanSupplier installing;
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
   * @param identities checks each request's signature ({@link MessageAuth}) and names who signed it, or
   *                   null to trust the {@code agent} field (a writer without a cluster secret: tests)
   * @param store      the store requests go to (null while there is none)
   * @param installing true while this node's copy is being replaced by a snapshot
   */
  MemoryRequests(Vertx vertx, Context context, String node, MemoryPolicy policy, MessageAuth.Verifier identities,
                 SharedMemoryVerticle.Listener listener, Supplier<MarkdownStore> store, BooleanSupplier installing) {
    this.vertx = vertx;
    this.context = context;
    this.node = node;
    this.policy = policy;
    this.identities = identities;
    this.listener = listener;
    this.store = store;
    this.installing = installing;
  }

  /** The store a request goes to; none while the writer is changing. */
  private MarkdownStore current() {
    MarkdownStore s = store.get();
    if (s == null) {
      throw new Failure(Failure.Kind.UNAVAILABLE, "memory node " + node + " is not serving");
    }
    return s;
  }

  /** A new writer knows no claim: every session is claimed again once. */
  void forgetClaims() {
    claims.clear();
    forgottenClaims = 0;
  }

  /**
   * Who asks: the principal that signed the request for this address (a node or the admin principal
   * acts as {@link MemoryPolicy#ADMIN}). Unsigned, forged, replayed or stale requests are refused.
   */
  String caller(Message<JsonObject> m, String op) {
    String agent;
    if (identities != null) {
      String principal = identities.verifyLocal(m);
      if (principal == null) {
        listener.refused("?", "identity");
        throw new Failure(Failure.Kind.FORBIDDEN, "the request is not signed by a member of this cluster "
          + "(or was seen before, or is too old)");
      }
      agent = principal.startsWith(MessageAuth.nodePrincipal("")) ? MemoryPolicy.ADMIN : principal;
    } else {
      agent = m.body().getString("agent");
    }
    if (agent == null || !policy.known(agent)) {
      listener.refused(String.valueOf(agent), op);
      throw new Failure(Failure.Kind.FORBIDDEN, "unknown agent '" + agent + "'");
    }
    return agent;
  }

  private MemoryPath readable(String agent, String path, String op) {
    MemoryPath p = MemoryPath.of(path);
    if (!policy.canRead(agent, p)) {
      listener.refused(agent, op);
      throw new Failure(Failure.Kind.FORBIDDEN, "agent '" + agent + "' may not read " + p.value());
    }
    return p;
  }

  Future<JsonObject> read(Message<JsonObject> m) {
    String agent = caller(m, "read");
    MemoryPath path = readable(agent, m.body().getString("path"), "read");
    if (m.body().getBoolean("claim", false)) {
      return claimAndRead(agent, path);
    }
    String section = m.body().getString("section");
    MarkdownStore s = current();
    return vertx.executeBlocking(() -> section == null ? s.read(path.value()) : s.readSection(path.value(), section), false)
      .map(text -> new JsonObject().put("path", path.value()).put("text", text));
  }

  /** A read from this node's own copy (a follower's lags the writer's by its last batches at most). */
  Future<JsonObject> readAny(Message<JsonObject> m) {
    MarkdownStore s = store.get();
    if (s == null || installing.getAsBoolean()) {
      throw new Failure(Failure.Kind.UNAVAILABLE, "memory node " + node + " is installing a snapshot");
    }
    if (m.body().getBoolean("claim", false)) {
      throw new Failure(Failure.Kind.BAD_REQUEST, "a claim is read from the writer (memory.read)");
    }
    String agent = caller(m, "read");
    MemoryPath path = readable(agent, m.body().getString("path"), "read");
    String section = m.body().getString("section");
    return vertx.executeBlocking(() -> section == null ? s.read(path.value()) : s.readSection(path.value(), section), false)
      .map(text -> new JsonObject().put("path", path.value()).put("text", text).put("node", node)
        .put("applied", s.applied().seq()));
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
      throw new Failure(Failure.Kind.FORBIDDEN, "agent '" + agent + "' may not claim " + path.value());
    }
    long claim = ++claimSeq;
    claims.put(path.value(), claim);
    MarkdownStore s = current();
    String token = s.epoch() + "." + claim;
    // the read must see every write accepted before the claim, even one still being applied
    return Future.fromCompletionStage(s.barrier(), context)
      .compose(v -> vertx.executeBlocking(() -> {
        try {
          return s.read(path.value());
        } catch (Failure e) {
          if (e.kind() == Failure.Kind.NOT_FOUND) {
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
      throw new Failure(Failure.Kind.BAD_REQUEST, "malformed session claim");
    }
    if (epoch != current().epoch()) {
      throw new Failure(Failure.Kind.STALE_CLAIM, "the memory writer changed since " + path
        + " was claimed: claim it again");
    }
    Long newest = claims.get(path);
    if (newest == null) {
      if (claim <= forgottenClaims) {
        throw new Failure(Failure.Kind.STALE_CLAIM, "the claim on " + path
          + " is too old to check: claim it again");
      }
      claims.put(path, claim);
    } else if (claim < newest) {
      throw new Failure(Failure.Kind.FENCED, path + " was claimed by another instance since: "
        + "this one no longer writes it");
    }
  }

  Future<JsonObject> write(Message<JsonObject> m) {
    String agent = caller(m, "write");
    JsonObject body = m.body();
    MemoryPath path = MemoryPath.of(body.getString("path"));
    if (!policy.canWrite(agent, path)) {
      listener.refused(agent, "write");
      throw new Failure(Failure.Kind.FORBIDDEN, "agent '" + agent + "' may not write " + path.value());
    }
    String claim = body.getString("claim");
    if (claim != null) {
      checkClaim(path.value(), claim);
    }
    String op = body.getString("op", "append");
    String writeId = body.getString("write_id");
    long started = System.nanoTime();
    var pending = switch (op) {
      case "append" -> current().append(path.value(), body.getString("author", agent), body.getString("text"), writeId);
      case "replace" -> current().replace(path.value(), body.getString("text"), writeId);
      default -> throw new Failure(Failure.Kind.BAD_REQUEST, "op must be append or replace");
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

  Future<JsonObject> list(Message<JsonObject> m) {
    String agent = caller(m, "list");
    String prefix = m.body().getString("prefix", "");
    MarkdownStore s = current();
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

  Future<JsonObject> search(Message<JsonObject> m) {
    String agent = caller(m, "search");
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
    MarkdownStore s = current();
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
