package dev.agenthub.memory;

import dev.agenthub.protocol.MessageAuth;

import io.vertx.core.MultiMap;
import io.vertx.core.eventbus.DeliveryOptions;

import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Logger;

/**
 * Who sent a replication message, and whether a record in the cluster's maps was written by a
 * memory node: the {@link MessageAuth} of replicated memory. Every replication request and the
 * answers that are trusted (batches, snapshots, acknowledgements, promises) are signed by the
 * sending node as {@link MessageAuth#nodePrincipal}; the headers a message's meaning depends on
 * ({@code epoch}, {@code seq}, {@code status}...) are signed with it, as part of its subject. The
 * in-sync record and the entries of {@code agenthub.memory.replicas} carry a signature under a key
 * of their own, derived from the cluster secret: a member without the secret can neither send a
 * replication message nor write a record a memory node trusts.
 */
final class ReplicaAuth {

  private static final Logger LOG = Logger.getLogger(ReplicaAuth.class.getName());
  private static final ConcurrentHashMap<String, Long> LAST_SAID = new ConcurrentHashMap<>();
  private static final String NODE_PREFIX = MessageAuth.nodePrincipal("");

  private final MessageAuth.Signer signer;
  private final MessageAuth.Verifier verifier;
  private final byte[] recordKey;
  private final byte[] replicasKey;

  ReplicaAuth(byte[] secret, String node) {
    this.signer = MessageAuth.Signer.of(secret, MessageAuth.nodePrincipal(node));
    this.verifier = new MessageAuth.Verifier(secret);
    this.recordKey = MessageAuth.key(secret, "memory.in-sync");
    this.replicasKey = MessageAuth.key(secret, "memory.replicas");
  }

  /**
   * The subject a message is signed for: its address (or what it answers) and the headers its
   * meaning depends on, so that none can be changed on the way.
   */
  static String subject(String address, Object... parts) {
    StringBuilder out = new StringBuilder(address);
    for (Object p : parts) {
      out.append('|').append(p);
    }
    return out.toString();
  }

  /** {@code options} (a new one if null) signed by this node for {@code subject} and {@code body}. */
  DeliveryOptions sign(String subject, Object body, DeliveryOptions options) {
    return signer.sign(subject, body, options);
  }

  /**
   * The node that signed {@code body} for {@code subject}, or null (unsigned, signed by another
   * principal than a node, by another secret, too old, or seen before).
   */
  String node(String subject, MultiMap headers, Object body) {
    String principal = verifier.verify(subject, headers, body);
    if (principal == null || !principal.startsWith(NODE_PREFIX) || principal.length() == NODE_PREFIX.length()) {
      return null;
    }
    return principal.substring(NODE_PREFIX.length());
  }

  /** True when {@code headers} carry a valid signature of {@code node} for {@code subject}. */
  boolean signedBy(String node, String subject, MultiMap headers, Object body) {
    return node != null && node.equals(node(subject, headers, body));
  }

  /** The in-sync record as kept in the cluster: its text and a signature. */
  String sealRecord(String text) {
    return text + "#" + MessageAuth.sign(recordKey, text);
  }

  /** The text of a sealed record, or null when its signature fails (a foreign record). */
  String openRecord(String sealed) {
    return open(recordKey, sealed);
  }

  /** An entry of {@code agenthub.memory.replicas}: the node's position, signed with its name. */
  String sealReplica(String node, String position) {
    return position + "#" + MessageAuth.sign(replicasKey, node + "|" + position);
  }

  /** The position of a replica's entry, or null when the entry was not written by that node. */
  String openReplica(String node, String sealed) {
    int at = sealed == null ? -1 : sealed.lastIndexOf('#');
    if (at < 0) {
      return null;
    }
    String position = sealed.substring(0, at);
    return MessageAuth.verify(replicasKey, node + "|" + position, sealed.substring(at + 1)) ? position : null;
  }

  private static String open(byte[] key, String sealed) {
    int at = sealed == null ? -1 : sealed.lastIndexOf('#');
    if (at < 0) {
      return null;
    }
    String text = sealed.substring(0, at);
    return MessageAuth.verify(key, text, sealed.substring(at + 1)) ? text : null;
  }

  /** Says once per kind that something unsigned or foreign was refused (not per message: an attacker could flood). */
  static void refused(String what, Object from) {
    long now = System.currentTimeMillis();
    Long last = LAST_SAID.get(what);
    if (last != null && now - last < 10_000) {
      return;
    }
    if (LAST_SAID.size() > 1_000) {
      LAST_SAID.clear();
    }
    LAST_SAID.put(what, now);
    LOG.warning("memory: refused " + what + (from == null ? "" : " (" + from + ")")
      + ": not signed by a memory node of this cluster");
  }
}
