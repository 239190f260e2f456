package dev.agenthub.memory;

import dev.agenthub.protocol.Failure;
import dev.agenthub.protocol.MessageAuth;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.JsonObject;

import java.util.UUID;

/**
 * What an agent (or the hub's admin routes) uses to reach shared memory: Future-based, with a deadline
 * per call and typed failures ({@link Failure.Kind}). While the writer is unavailable (a
 * failover in progress) calls are retried until the deadline: reads are idempotent, and writes carry
 * a write id so a retried write lands once.
 */
public final class MemoryClient {

  private static final long RETRY_MIN_MS = 50;
  private static final long RETRY_MAX_MS = 250;
  // a writer that died with our request never answers it: give up on that attempt early and retry.
  // A write answered late is sent again under its write id, which lands it once; a new writer is
  // usually serving within a second of the old one's death.
  private static final long ATTEMPT_TIMEOUT_MS = 1_500;

  private final Vertx vertx;
  private final MessageAuth.Signer signer;
  private final String agent;
  private final long timeoutMs;

  /**
   * @param signer    signs every request as its principal (an agent, or a node for the hub's admin
   *                  routes): the writer takes who asks from the signature, never from the body
   * @param timeoutMs overall deadline of one call, retries included
   */
  public MemoryClient(Vertx vertx, MessageAuth.Signer signer, long timeoutMs) {
    this(vertx, signer, null, timeoutMs);
  }

  /**
   * An unsigned client naming {@code agent} in its requests: only a writer started without a
   * cluster secret (tests that drive one directly) believes it.
   */
  public MemoryClient(Vertx vertx, String agent, long timeoutMs) {
    this(vertx, null, agent, timeoutMs);
  }

  private MemoryClient(Vertx vertx, MessageAuth.Signer signer, String agent, long timeoutMs) {
    this.vertx = vertx;
    this.signer = signer;
    this.agent = agent;
    this.timeoutMs = timeoutMs;
  }

  public Future<String> read(String path) {
    return call(MemoryAddresses.READ, new JsonObject().put("path", path), true).map(j -> j.getString("text"));
  }

  /**
   * A file as any memory node holds it ({@link MemoryAddresses#READ_ANY}): with replicated memory a
   * follower may answer, as of the last batch it applied, so a write just acknowledged may not be
   * in it yet. For reads that can be that stale; the others use {@link #read}.
   */
  public Future<String> readAny(String path) {
    return call(MemoryAddresses.READ_ANY, new JsonObject().put("path", path), true).map(j -> j.getString("text"));
  }

  public Future<String> readSection(String path, String heading) {
    return call(MemoryAddresses.READ, new JsonObject().put("path", path).put("section", heading), true)
      .map(j -> j.getString("text"));
  }

  /** Appends an entry; answers {@code {path, bytes, duplicate}} once it is durable. */
  public Future<JsonObject> append(String path, String author, String text) {
    return append(path, author, text, UUID.randomUUID().toString());
  }

  /**
   * Appends an entry under the caller's write id: the same id written again (a retry, a turn sent
   * again to another node) lands once, answered {@code duplicate: true}.
   */
  public Future<JsonObject> append(String path, String author, String text, String writeId) {
    return append(path, author, text, writeId, null);
  }

  /**
   * Reads a session transcript and claims it for the caller: answers {@code {path, text, claim}}
   * (text empty for a new session). Writes under the claim ({@link #append(String, String, String,
   * String, String)}) fail {@link Failure.Kind#FENCED} once another instance claimed it since,
   * and {@link Failure.Kind#STALE_CLAIM} when the writer no longer knows the claim.
   */
  public Future<JsonObject> claim(String path) {
    return call(MemoryAddresses.READ, new JsonObject().put("path", path).put("claim", true), true);
  }

  /** As {@link #append(String, String, String, String)}, under a session claim (null: none). */
  public Future<JsonObject> append(String path, String author, String text, String writeId, String claim) {
    JsonObject body = new JsonObject().put("op", "append").put("path", path).put("author", author)
      .put("text", text).put("write_id", writeId);
    if (claim != null) {
      body.put("claim", claim);
    }
    return call(MemoryAddresses.WRITE, body, true);
  }

  /** Replaces a file atomically; answers {@code {path, bytes, duplicate}} once it is durable. */
  public Future<JsonObject> replace(String path, String text) {
    return call(MemoryAddresses.WRITE, new JsonObject().put("op", "replace").put("path", path).put("text", text)
      .put("write_id", UUID.randomUUID().toString()), true);
  }

  public Future<JsonObject> list(String prefix) {
    return call(MemoryAddresses.LIST, new JsonObject().put("prefix", prefix == null ? "" : prefix), true);
  }

  public Future<JsonObject> search(String query, boolean regex, String prefix) {
    JsonObject body = new JsonObject().put("query", query).put("regex", regex);
    if (prefix != null) {
      body.put("prefix", prefix);
    }
    return call(MemoryAddresses.SEARCH, body, true);
  }

  /** Answers the writer's node and epoch, or fails with UNAVAILABLE. */
  public Future<JsonObject> ping() {
    return call(MemoryAddresses.PING, new JsonObject(), false);
  }

  private Future<JsonObject> call(String address, JsonObject body, boolean retry) {
    if (signer == null) {
      body.put("agent", agent);
    }
    long deadline = System.nanoTime() + timeoutMs * 1_000_000;
    Promise<JsonObject> promise = Promise.promise();
    attempt(address, body, retry, deadline, RETRY_MIN_MS, signer != null, promise);
    return promise.future();
  }

  /**
   * One attempt. The first goes to this node's own handler if it has one (the writer, or for a read
   * any copy, is often here): signed without the body's digest and delivered to local handlers only
   * ({@link MessageAuth.Signer#signLocal}), so the request is not encoded to be signed. With no handler
   * here it goes to the cluster at once, signed over its body.
   */
  private void attempt(String address, JsonObject body, boolean retry, long deadline, long backoff, boolean local,
                       Promise<JsonObject> promise) {
    long left = Math.max(1, (deadline - System.nanoTime()) / 1_000_000);
    long timeout = retry ? Math.min(left, ATTEMPT_TIMEOUT_MS) : left;
    DeliveryOptions options = new DeliveryOptions().setSendTimeout(timeout);
    if (local) {
      signer.signLocal(address, options);
    } else if (signer != null) {
      // signed per attempt: a retry is a new message, and the writer refuses a message it has seen
      signer.sign(address, body, options);
    }
    vertx.eventBus().<JsonObject>request(address, body, options)
      .onSuccess(m -> promise.complete(m.body()))
      .onFailure(err -> {
        if (local && err instanceof ReplyException re && re.failureType() == ReplyFailure.NO_HANDLERS) {
          attempt(address, body, retry, deadline, backoff, false, promise); // served elsewhere in the cluster
          return;
        }
        Failure e = failureOf(err);
        long remaining = (deadline - System.nanoTime()) / 1_000_000;
        if (retry && e.kind() == Failure.Kind.UNAVAILABLE && remaining > backoff) {
          vertx.setTimer(backoff, id -> attempt(address, body, true, deadline,
            Math.min(RETRY_MAX_MS, backoff * 2), signer != null, promise));
        } else {
          promise.fail(e);
        }
      });
  }

  /**
   * A failed memory request as callers act on it: no writer, or none that answered in time, is
   * {@link Failure.Kind#UNAVAILABLE} (retried within the deadline); the writer's own failures keep their kind.
   */
  static Failure failureOf(Throwable err) {
    if (err instanceof ReplyException re && re.failureType() == ReplyFailure.NO_HANDLERS) {
      return new Failure(Failure.Kind.UNAVAILABLE, "no memory writer is available");
    }
    if (err instanceof ReplyException re && re.failureType() == ReplyFailure.TIMEOUT) {
      return new Failure(Failure.Kind.UNAVAILABLE, "the memory writer did not answer in time");
    }
    return Failure.from(err, Failure.Kind.UNAVAILABLE, "memory unavailable");
  }

}
