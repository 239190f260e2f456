package dev.agenthub.hub.cluster;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Rendezvous (highest random weight) hashing: every gateway ranks the live instances of an agent for
 * a session the same way, with no coordination; when an instance leaves, only its sessions move.
 */
public final class RendezvousRouter {

  private RendezvousRouter() {
  }

  /** The instances ordered by preference for {@code session}: first is the owner, the rest are fallbacks. */
  public static List<NodeEntry.Placement> rank(String session, List<NodeEntry.Placement> instances) {
    long key = hash(session);
    List<NodeEntry.Placement> ranked = new ArrayList<>(instances);
    ranked.sort(Comparator.comparingLong((NodeEntry.Placement p) -> score(key, p)).reversed()
      .thenComparing(NodeEntry.Placement::instance));
    return ranked;
  }

  private static long score(long sessionHash, NodeEntry.Placement p) {
    return mix(sessionHash ^ hash(p.agent() + "/" + p.instance()));
  }

  public static long hash(String s) {
    long h = 0xcbf29ce484222325L;
    for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
      h ^= (b & 0xff);
      h *= 0x100000001b3L;
    }
    return mix(h);
  }

  // MurmurHash3's 64-bit finalizer: spreads FNV's weak low bits over the whole word
  private static long mix(long z) {
    z = (z ^ (z >>> 33)) * 0xff51afd7ed558ccdL;
    z = (z ^ (z >>> 33)) * 0xc4ceb9fe1a85ec53L;
    return z ^ (z >>> 33);
  }
}
