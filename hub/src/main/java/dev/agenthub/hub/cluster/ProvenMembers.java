package dev.agenthub.hub.cluster;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * Which members of the cluster have proved to this node that they hold the cluster secret, which
 * have still to, and which are intruders: a member that has failed {@link #ATTEMPTS} challenges
 * (no answer, or a wrong one) and has had at least {@link #DEADLINE_MS} since this node first saw
 * it. An intruder is still challenged: one that answers after all (an application slow to start
 * answering) is cleared. Plain state, touched from one context only ({@link MemberChallenger}'s).
 */
final class ProvenMembers {

  /** How long a member has to prove itself, at the least. */
  static final long DEADLINE_MS = 15_000;
  /** How many challenges it must fail before it is an intruder. */
  static final int ATTEMPTS = 3;

  /** A member that failed to prove it holds the secret: its Hazelcast UUID and {@code host:port}. */
  record Intruder(UUID uuid, String address) {
  }

  private static final class Unproven {
    final String address;
    final long since;
    int failures;
    boolean asking;
    boolean intruder;

    Unproven(String address, long since) {
      this.address = address;
      this.since = since;
    }
  }

  private final Set<UUID> proven = new HashSet<>();
  private final Map<UUID, Unproven> unproven = new HashMap<>();

  /**
   * Takes the UUIDs of the members present now (this node left out): forgets the members gone, and
   * answers the intruders among them.
   */
  List<Intruder> forget(Set<UUID> present) {
    proven.retainAll(present);
    List<Intruder> gone = new ArrayList<>();
    unproven.entrySet().removeIf(e -> {
      if (present.contains(e.getKey())) {
        return false;
      }
      if (e.getValue().intruder) {
        gone.add(new Intruder(e.getKey(), e.getValue().address));
      }
      return true;
    });
    return gone;
  }

  /**
   * The members to challenge now, of those present (UUID to {@code host:port}): every one that has
   * not proved itself and has no challenge in flight (they count as asked from now on).
   */
  List<UUID> due(Map<UUID, String> present, long now) {
    List<UUID> due = new ArrayList<>();
    present.forEach((uuid, address) -> {
      if (proven.contains(uuid)) {
        return;
      }
      Unproven u = unproven.computeIfAbsent(uuid, id -> new Unproven(address, now));
      if (!u.asking) {
        u.asking = true;
        due.add(uuid);
      }
    });
    return due;
  }

  /** A right answer. True when the member had been named an intruder. */
  boolean proved(UUID member) {
    Unproven u = unproven.remove(member);
    if (u == null) {
      return false; // gone meanwhile, or proved by an earlier answer
    }
    proven.add(member);
    return u.intruder;
  }

  /** No answer, or a wrong one. True when this makes the member an intruder (once per member). */
  boolean failed(UUID member, long now) {
    Unproven u = unproven.get(member);
    if (u == null) {
      return false;
    }
    u.asking = false;
    u.failures++;
    if (!u.intruder && u.failures >= ATTEMPTS && now - u.since >= DEADLINE_MS) {
      u.intruder = true;
      return true;
    }
    return false;
  }

  /** The intruders present, by address. */
  List<Intruder> intruders() {
    List<Intruder> out = new ArrayList<>();
    unproven.forEach((uuid, u) -> {
      if (u.intruder) {
        out.add(new Intruder(uuid, u.address));
      }
    });
    out.sort(Comparator.comparing(Intruder::address).thenComparing(Intruder::uuid));
    return List.copyOf(out);
  }
}
