package dev.agenthub.protocol;

import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The per-message authenticator of internal event-bus requests: no token travels in a message any
 * more; the sender signs each one with its principal's key (the HMAC of the principal's name under
 * the cluster secret, {@link #key}), and the receiver, who can derive every key from the
 * secret, checks it.
 *
 * <p>The header {@value #HEADER} is {@code v1 <principal> <boot> <seq> <millis> <mac>}: the MAC
 * (HMAC-SHA256, base64url) covers the address, the principal, the sender's boot id and sequence
 * number, the time and a SHA-256 of the body's bytes. A message is accepted only on the address it
 * was signed for, within {@link #WINDOW_MS} after it was signed (and at most {@link #SKEW_MS}
 * before), and only once: the receiver keeps, per sender boot, a sliding window of the sequence
 * numbers it has seen (as IPsec does). A sender's window can be forgotten once its last message is
 * older than the time window, since anything it signed then is refused by its time anyway.
 */
public final class MessageAuth {

  /** The header every internal request carries. */
  public static final String HEADER = "agenthub-auth";
  /** How long a signed message is accepted after it was signed. */
  public static final long WINDOW_MS = 30_000;
  /** How far a sender's clock may run ahead of the receiver's. */
  public static final long SKEW_MS = 5_000;
  private static final int SEQ_WINDOW = 1 << 14;
  private static final String V1 = "v1";
  private static final String V1_LOCAL = "v1L";

  private static final ThreadLocal<MessageDigest> SHA256 = ThreadLocal.withInitial(() -> {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 unavailable", e);
    }
  });
  private static final ThreadLocal<Mac> HMAC = ThreadLocal.withInitial(() -> {
    try {
      return Mac.getInstance("HmacSHA256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("HmacSHA256 unavailable", e);
    }
  });
  private static final SecureRandom RANDOM = new SecureRandom();

  private MessageAuth() {
  }

  /**
   * A node's local key: random, never sent, given to the node's signers and its verifier. A
   * {@link Signer#signLocal} signature is a MAC over it in place of the body's digest, so it is
   * accepted by the node that made it and by no other, even in the same process (tests run nodes
   * side by side) or if such a signature were ever seen outside it.
   */
  public static byte[] newLocalKey() {
    byte[] key = new byte[32];
    RANDOM.nextBytes(key);
    return key;
  }

  /** The principal a node signs its own requests as (replication, dashboard figures, admin calls). */
  public static String nodePrincipal(String node) {
    return "node:" + node;
  }

  /** The signing key of {@code principal} under the cluster secret. */
  public static byte[] key(byte[] secret, String principal) {
    return hmac(secret, principal.getBytes(StandardCharsets.UTF_8));
  }

  /** HMAC-SHA256 of {@code data} under {@code key}. */
  public static byte[] hmac(byte[] key, byte[] data) {
    Mac mac = HMAC.get();
    try {
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
    } catch (InvalidKeyException e) {
      throw new IllegalStateException(e);
    }
    return mac.doFinal(data);
  }

  /** A signature of {@code text} under {@code key}, base64url: for records kept in shared maps. */
  public static String sign(byte[] key, String text) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(hmac(key, text.getBytes(StandardCharsets.UTF_8)));
  }

  /** Constant-time check of a {@link #sign} signature. */
  public static boolean verify(byte[] key, String text, String signature) {
    return signature != null && MessageDigest.isEqual(sign(key, text).getBytes(StandardCharsets.UTF_8),
      signature.getBytes(StandardCharsets.UTF_8));
  }

  /** The bytes a body is signed as: JSON as its encoding, text as UTF-8, buffers as they are. */
  static byte[] bodyDigest(Object body) {
    MessageDigest sha = SHA256.get();
    if (body == null) {
      return sha.digest(new byte[0]);
    }
    byte[] bytes;
    if (body instanceof JsonObject json) {
      bytes = json.toBuffer().getBytes();
    } else if (body instanceof JsonArray json) {
      bytes = json.toBuffer().getBytes();
    } else if (body instanceof Buffer buffer) {
      bytes = buffer.getBytes();
    } else if (body instanceof byte[] raw) {
      bytes = raw;
    } else {
      bytes = body.toString().getBytes(StandardCharsets.UTF_8);
    }
    return sha.digest(bytes);
  }

  /**
   * One principal's key, with an HMAC already initialised under it per thread: initialising one per
   * message (the key's inner and outer pads) was a third of the cost of signing a small message.
   */
  private static final class KeyedMac {
    private final SecretKeySpec spec;
    private final ThreadLocal<Mac> macs;

    KeyedMac(byte[] key) {
      this.spec = new SecretKeySpec(key, "HmacSHA256");
      this.macs = ThreadLocal.withInitial(() -> {
        try {
          Mac mac = Mac.getInstance("HmacSHA256");
          mac.init(spec);
          return mac;
        } catch (NoSuchAlgorithmException | InvalidKeyException e) {
          throw new IllegalStateException("HmacSHA256 unavailable", e);
        }
      });
    }

    Mac mac() {
      return macs.get(); // doFinal leaves it ready for the next message under the same key
    }
  }

  // the local key of signers and verifiers not given one: this process's own
  private static final byte[] PROCESS_LOCAL_KEY = newLocalKey();

  private static String mac(KeyedMac key, String version, String address, String principal, String boot, long seq,
                            long millis, byte[] digest, MultiMap headers) {
    Mac mac = key.mac();
    mac.update((version + "\n" + address + "\n" + principal + "\n" + boot + "\n" + seq + "\n" + millis + "\n")
      .getBytes(StandardCharsets.UTF_8));
    mac.update(digest);
    mac.update(signedHeaders(headers));
    return Base64.getUrlEncoder().withoutPadding().encodeToString(mac.doFinal());
  }

  // headers the signature leaves out: its own, and what a tracer adds after a message was signed
  private static final Set<String> UNSIGNED_HEADERS = Set.of(HEADER, "traceparent", "tracestate", "baggage");
  private static final byte[] NO_HEADERS = new byte[0];

  /**
   * The headers a message's meaning depends on ({@code cancel}, {@code resend}, {@code epoch}...),
   * in one order: signed with the body, so that none can be added, dropped or changed on the way.
   */
  static byte[] signedHeaders(MultiMap headers) {
    if (headers == null || headers.isEmpty()) {
      return NO_HEADERS;
    }
    TreeMap<String, List<String>> sorted = new TreeMap<>();
    for (Map.Entry<String, String> h : headers.entries()) {
      String name = h.getKey().toLowerCase(Locale.ROOT);
      if (!UNSIGNED_HEADERS.contains(name)) {
        sorted.computeIfAbsent(name, k -> new ArrayList<>()).add(h.getValue());
      }
    }
    if (sorted.isEmpty()) {
      return NO_HEADERS;
    }
    StringBuilder out = new StringBuilder();
    sorted.forEach((name, values) -> values.forEach(v -> out.append(name.length()).append(':').append(name)
      .append(v.length()).append(':').append(v).append('\n')));
    return out.toString().getBytes(StandardCharsets.UTF_8);
  }

  /** Signs messages as one principal: holds that principal's key only, never the cluster secret. */
  public static final class Signer {
    private final String principal;
    private final KeyedMac key;
    private final String boot;
    private final AtomicLong seq = new AtomicLong();
    private final LongSupplier clock;
    private final byte[] localKey;

    public Signer(String principal, byte[] key) {
      this(principal, key, System::currentTimeMillis);
    }

    /** With a clock of the caller's (tests move time). */
    public Signer(String principal, byte[] key, LongSupplier clock) {
      this(principal, key, clock, PROCESS_LOCAL_KEY);
    }

    /**
     * @param localKey the node's local key ({@link #newLocalKey}): what its {@link #signLocal}
     *                 signatures are bound to, so that only the node's own {@link Verifier} accepts them
     */
    public Signer(String principal, byte[] key, LongSupplier clock, byte[] localKey) {
      if (principal.isEmpty() || principal.contains(" ")) {
        throw new IllegalArgumentException("principal must be non-empty without spaces");
      }
      this.principal = principal;
      this.key = new KeyedMac(key);
      this.clock = clock;
      this.localKey = localKey.clone();
      byte[] b = new byte[8];
      RANDOM.nextBytes(b);
      this.boot = HexFormat.of().formatHex(b);
    }

    /** The signer of {@code principal} in the cluster whose secret is {@code secret}. */
    public static Signer of(byte[] secret, String principal) {
      return new Signer(principal, key(secret, principal));
    }

    /** The signer of {@code principal} on the node whose local key is {@code localKey}. */
    public static Signer of(byte[] secret, String principal, byte[] localKey) {
      return new Signer(principal, key(secret, principal), System::currentTimeMillis, localKey);
    }

    public String principal() {
      return principal;
    }

    /** The header value for one message of {@code body} to {@code address}. */
    public String header(String address, Object body) {
      return header(V1, address, bodyDigest(body), null);
    }

    private String header(String version, String address, byte[] digest, MultiMap headers) {
      long n = seq.incrementAndGet();
      long millis = clock.getAsLong();
      return version + " " + principal + " " + boot + " " + n + " " + millis + " "
        + mac(key, version, address, principal, boot, n, millis, digest, headers);
    }

    /**
     * {@code options} signed for a handler in this process, and set to be delivered to this
     * process's handlers only ({@code localOnly}): such a message never reaches the wire, so its
     * body cannot be changed on the way and its signature cannot be seen by another process. The
     * signature names the principal, the address, the time and the sequence number, but not the
     * body, so the body (a model call's context handed over by reference, a turn) is not encoded to
     * be signed. Only {@link Verifier#verifyLocal} accepts it.
     */
    public DeliveryOptions signLocal(String address, DeliveryOptions options) {
      DeliveryOptions out = options == null ? new DeliveryOptions() : options;
      out.setLocalOnly(true);
      return out.addHeader(HEADER, header(V1_LOCAL, address, localKey, out.getHeaders()));
    }

    /**
     * {@code options} (a new one if null) with this message's {@value #HEADER} header set; the
     * headers {@code options} holds now are signed too, so add them before.
     */
    public DeliveryOptions sign(String address, Object body, DeliveryOptions options) {
      DeliveryOptions out = options == null ? new DeliveryOptions() : options;
      return out.addHeader(HEADER, header(V1, address, bodyDigest(body), out.getHeaders()));
    }
  }

  /** Checks signed messages under the cluster secret, refusing a message seen before. */
  public static final class Verifier {
    private static final int MAX_KEYS = 1024;
    private final byte[] secret;
    private final byte[] localKey;
    private final LongSupplier clock;
    private final ConcurrentHashMap<String, KeyedMac> keys = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, SeqWindow> windows = new ConcurrentHashMap<>();
    private volatile long lastSweep;

    public Verifier(byte[] secret) {
      this(secret, System::currentTimeMillis);
    }

    /** With a clock of the caller's (tests move time). */
    public Verifier(byte[] secret, LongSupplier clock) {
      this(secret, clock, PROCESS_LOCAL_KEY);
    }

    /** The verifier of the node whose local key ({@link #newLocalKey}) is {@code localKey}. */
    public Verifier(byte[] secret, byte[] localKey) {
      this(secret, System::currentTimeMillis, localKey);
    }

    public Verifier(byte[] secret, LongSupplier clock, byte[] localKey) {
      this.localKey = localKey.clone();
      this.secret = secret.clone();
      this.clock = clock;
      this.lastSweep = clock.getAsLong();
    }

    /** The principal that signed {@code message} for its own address, or null when it is not valid. */
    public String verify(Message<?> message) {
      return verify(message.address(), message.headers(), message.body());
    }

    /**
     * As {@link #verify(Message)}, also accepting {@link Signer#signLocal} signatures, which only a
     * holder of the principal's key makes and which never leave the process that made them (they
     * are delivered to its own handlers only); a process that never saw one cannot replay it.
     */
    public String verifyLocal(Message<?> message) {
      return verify(message.address(), message.headers(), message.body(), true);
    }

    /** The principal that signed {@code body} for {@code address}, or null when it is not valid. */
    public String verify(String address, MultiMap headers, Object body) {
      return verify(address, headers, body, false);
    }

    private String verify(String address, MultiMap headers, Object body, boolean local) {
      String header = headers == null ? null : headers.get(HEADER);
      if (header == null) {
        return null;
      }
      String[] parts = header.split(" ");
      if (parts.length != 6 || !parts[0].equals(V1) && !(local && parts[0].equals(V1_LOCAL))) {
        return null;
      }
      String principal = parts[1];
      String boot = parts[2];
      long seq;
      long millis;
      try {
        seq = Long.parseLong(parts[3]);
        millis = Long.parseLong(parts[4]);
      } catch (NumberFormatException e) {
        return null;
      }
      long now = clock.getAsLong();
      if (seq <= 0 || millis < now - WINDOW_MS || millis > now + SKEW_MS) {
        return null;
      }
      KeyedMac key = keys.get(principal);
      boolean known = key != null;
      if (!known) {
        key = new KeyedMac(key(secret, principal));
      }
      byte[] digest = parts[0].equals(V1) ? bodyDigest(body) : localKey;
      String want = mac(key, parts[0], address, principal, boot, seq, millis, digest, headers);
      if (!MessageDigest.isEqual(want.getBytes(StandardCharsets.UTF_8), parts[5].getBytes(StandardCharsets.UTF_8))) {
        return null;
      }
      if (!known) {
        // remembered only once it signed something: names made up by a stranger fill nothing
        if (keys.size() >= MAX_KEYS) {
          keys.clear();
        }
        keys.put(principal, key);
      }
      sweep(now);
      SeqWindow window = windows.computeIfAbsent(principal + " " + boot, k -> new SeqWindow());
      return window.accept(seq, now) ? principal : null;
    }

    /** Senders whose last message is older than the time window: anything they signed is refused anyway. */
    private void sweep(long now) {
      if (now - lastSweep < WINDOW_MS) {
        return;
      }
      lastSweep = now;
      windows.values().removeIf(w -> w.lastSeen() < now - WINDOW_MS - SKEW_MS);
    }

    /** Senders remembered (for tests and metrics). */
    int senders() {
      return windows.size();
    }
  }

  /** The sequence numbers one sender boot used lately: the highest, and a bitmap of the ones below it. */
  private static final class SeqWindow {
    private final long[] bits = new long[SEQ_WINDOW / 64];
    private long highest;
    private volatile long lastSeen;

    synchronized boolean accept(long seq, long now) {
      lastSeen = now;
      if (seq > highest) {
        long shift = seq - highest;
        if (shift >= SEQ_WINDOW) {
          Arrays.fill(bits, 0);
        } else {
          for (long s = highest + 1; s <= seq; s++) {
            clear(s);
          }
        }
        highest = seq;
        set(seq);
        return true;
      }
      if (seq <= highest - SEQ_WINDOW || isSet(seq)) {
        return false; // too old to tell, or a replay
      }
      set(seq);
      return true;
    }

    long lastSeen() {
      return lastSeen;
    }

    private void set(long seq) {
      int i = (int) (seq % SEQ_WINDOW);
      bits[i >>> 6] |= 1L << (i & 63);
    }

    private void clear(long seq) {
      int i = (int) (seq % SEQ_WINDOW);
      bits[i >>> 6] &= ~(1L << (i & 63));
    }

    private boolean isSet(long seq) {
      int i = (int) (seq % SEQ_WINDOW);
      return (bits[i >>> 6] & (1L << (i & 63))) != 0;
    }
  }
}
