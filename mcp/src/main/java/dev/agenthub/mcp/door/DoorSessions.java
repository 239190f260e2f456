package dev.agenthub.mcp.door;

import dev.agenthub.protocol.Hashes;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * The MCP sessions of one node ({@code Mcp-Session-Id}), shared by its gateways: each made by
 * {@code initialize}, named by 32 random bytes, and bound to the token that made it (another token
 * naming it finds nothing). Bounded: at most {@code max} at once, and one unused for {@code idleMs}
 * is gone. Thread-safe: a client's requests may reach any of the node's event loops.
 */
public final class DoorSessions {

  /** Sessions a node keeps at most. */
  public static final int MAX = 10_000;
  /** How long a session lives without a request. */
  public static final long IDLE_MS = 3_600_000;
  private static final long SWEEP_EVERY_MS = 60_000;

  private final Map<String, Session> byId = new ConcurrentHashMap<>();
  private final SecureRandom random = new SecureRandom();
  private final AtomicLong lastSweep;
  private final int max;
  private final long idleMs;
  private final LongSupplier clock;

  public DoorSessions() {
    this(MAX, IDLE_MS, System::currentTimeMillis);
  }

  /** @param clock milliseconds (a test's own clock) */
  DoorSessions(int max, long idleMs, LongSupplier clock) {
    this.max = max;
    this.idleMs = idleMs;
    this.clock = clock;
    this.lastSweep = new AtomicLong(clock.getAsLong());
  }

  /** One MCP session: whose it is, the revision it speaks, and its tool calls on their way. */
  static final class Session {
    final String id;
    final String owner;
    final String version;
    volatile long lastUsed;
    // JsonRpc.key(request id) -> what cancels that call (from any thread)
    private final Map<String, Runnable> calls = new ConcurrentHashMap<>();

    private Session(String id, String owner, String version, long now) {
      this.id = id;
      this.owner = owner;
      this.version = version;
      this.lastUsed = now;
    }

    /**
     * The agent session of calls that name none: one per MCP session, named by a hash of its id (the
     * id is a secret; the name ends up in transcripts).
     */
    String agentSession() {
      return "mcp-" + Hashes.sha256Hex("mcp-session:" + id).substring(0, 24);
    }

    void track(String call, Runnable cancel) {
      calls.put(call, cancel);
    }

    void untrack(String call, Runnable cancel) {
      calls.remove(call, cancel);
    }

    /** Cancels the call; false when it is not on its way (unknown, or answered already). */
    boolean cancel(String call) {
      Runnable cancel = calls.remove(call);
      if (cancel != null) {
        cancel.run();
      }
      return cancel != null;
    }

    int calls() {
      return calls.size();
    }
  }

  /** A new session for {@code owner}, or null when the node holds {@link #MAX} already. */
  Session open(String owner, String version) {
    long now = clock.getAsLong();
    long last = lastSweep.get();
    if (byId.size() >= max || now - last >= SWEEP_EVERY_MS && lastSweep.compareAndSet(last, now)) {
      byId.values().removeIf(s -> now - s.lastUsed >= idleMs);
    }
    if (byId.size() >= max) {
      return null;
    }
    byte[] bytes = new byte[32];
    random.nextBytes(bytes);
    Session s = new Session(Base64.getUrlEncoder().withoutPadding().encodeToString(bytes), owner, version, now);
    byId.put(s.id, s);
    return s;
  }

  /** The live session {@code id} of {@code owner} (marked used), or null: unknown, expired or another's. */
  Session find(String id, String owner) {
    Session s = id == null ? null : byId.get(id);
    if (s == null || !sameOwner(s, owner)) {
      return null;
    }
    long now = clock.getAsLong();
    if (now - s.lastUsed >= idleMs) {
      byId.remove(id, s);
      return null;
    }
    s.lastUsed = now;
    return s;
  }

  /** Ends session {@code id} of {@code owner}, cancelling its calls; false when there is none. */
  boolean close(String id, String owner) {
    Session s = find(id, owner);
    if (s == null || !byId.remove(id, s)) {
      return false;
    }
    for (String call : List.copyOf(s.calls.keySet())) {
      s.cancel(call);
    }
    return true;
  }

  /** Sessions held now (expired ones included until they are swept). */
  public int size() {
    return byId.size();
  }

  /**
   * Who owns a session: a hash of the bearer token (however the header spells {@code Bearer}), or of
   * nothing on a hub without clients.
   */
  static String owner(String authorization) {
    String token = authorization == null ? "" : authorization.strip();
    if (token.regionMatches(true, 0, "Bearer ", 0, 7)) {
      token = token.substring(7).strip();
    }
    return Hashes.sha256Hex("mcp-owner:" + token);
  }

  private static boolean sameOwner(Session s, String owner) {
    return MessageDigest.isEqual(s.owner.getBytes(StandardCharsets.UTF_8), owner.getBytes(StandardCharsets.UTF_8));
  }
}
