package dev.agenthub.memory;

import io.vertx.core.Future;

import java.util.Arrays;
import java.util.Set;
import java.util.TreeSet;

/**
 * Who writes shared memory in which epoch, and which followers hold every batch it acknowledged
 * (the in-sync set). Kept in the cluster as one string, changed only by compare-and-set: a writer
 * whose epoch was replaced cannot change it any more, and learns so. Only a member of the set (or
 * its writer) may take over, because only they are sure to hold every acknowledged batch.
 */
record InSyncRecord(long epoch, String writer, Set<String> members) {

  InSyncRecord {
    members = Set.copyOf(new TreeSet<>(members));
  }

  InSyncRecord with(String node) {
    Set<String> next = new TreeSet<>(members);
    next.add(node);
    return new InSyncRecord(epoch, writer, next);
  }

  InSyncRecord without(String node) {
    Set<String> next = new TreeSet<>(members);
    next.remove(node);
    return new InSyncRecord(epoch, writer, next);
  }

  /** True when {@code node} holds every batch acknowledged so far. */
  boolean mayTakeOver(String node) {
    return writer.equals(node) || members.contains(node);
  }

  String encode() {
    return epoch + "|" + writer + "|" + String.join(",", new TreeSet<>(members));
  }

  static InSyncRecord decode(String text) {
    String[] parts = text.split("\\|", -1);
    Set<String> members = new TreeSet<>();
    if (parts.length == 3 && !parts[2].isEmpty()) {
      members.addAll(Arrays.asList(parts[2].split(",")));
    }
    return new InSyncRecord(Long.parseLong(parts[0]), parts[1], members);
  }

  /** Where the record lives: one entry of a cluster-wide map. */
  interface Store {
    /** The cluster map the record is kept in, under one key. */
    String MAP = "agenthub.memory.in-sync";

    Future<InSyncRecord> get();

    /** Sets {@code next} if the record is still {@code expected} (null: there is none); true if it did. */
    Future<Boolean> replace(InSyncRecord expected, InSyncRecord next);

    /**
     * The record in the cluster map {@value #MAP}, signed ({@link ReplicaAuth}): a value whose
     * signature fails is foreign (written by a member without the secret), read as no record at all,
     * logged, and replaced by the next compare-and-set, whatever it expected.
     */
    static Store cluster(ElectionStore cluster, ReplicaAuth auth) {
      return new Store() {
        private static final String KEY = "memory";
        private String lastForeign;

        private InSyncRecord open(String sealed) {
          if (sealed == null) {
            return null;
          }
          String text = auth.openRecord(sealed);
          if (text == null) {
            if (!sealed.equals(lastForeign)) {
              lastForeign = sealed;
              ReplicaAuth.refused("the in-sync record " + (sealed.length() > 80 ? sealed.substring(0, 80) + "..."
                : sealed), "it is not trusted for a takeover");
            }
            return null;
          }
          try {
            return decode(text);
          } catch (RuntimeException e) {
            return null;
          }
        }

        @Override
        public Future<InSyncRecord> get() {
          return cluster.get(MAP, KEY).map(this::open);
        }

        @Override
        public Future<Boolean> replace(InSyncRecord expected, InSyncRecord next) {
          String sealed = auth.sealRecord(next.encode());
          return (expected == null ? cluster.putIfAbsent(MAP, KEY, sealed)
            : cluster.replaceIfPresent(MAP, KEY, auth.sealRecord(expected.encode()), sealed)).compose(done -> {
              if (done) {
                return Future.succeededFuture(true);
              }
              // not as expected: a newer writer's record stands; a foreign or missing one does not
              return cluster.get(MAP, KEY).compose(current -> {
                if (current == null) {
                  return cluster.putIfAbsent(MAP, KEY, sealed);
                }
                InSyncRecord standing = open(current);
                // foreign, or an older record written back (a signature does not stop a replay)
                return standing == null || standing.epoch() < next.epoch()
                  ? cluster.replaceIfPresent(MAP, KEY, current, sealed) : Future.succeededFuture(false);
              });
            });
        }
      };
    }
  }
}
