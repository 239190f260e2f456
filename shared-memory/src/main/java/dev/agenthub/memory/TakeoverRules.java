package dev.agenthub.memory;

import io.vertx.core.json.JsonObject;

import java.util.List;
import java.util.Optional;

/**
 * Whether a replica may take over as the memory writer: the decisions, without the cluster calls
 * that gather what they decide on. Each answers why not, or nothing when it may go on.
 */
final class TakeoverRules {

  private TakeoverRules() {
  }

  /**
   * With an in-sync record: only its writer or a member holds every acknowledged batch, and one
   * that holds nothing at all lost its disk (taking over from it would wipe the other copies).
   */
  static Optional<String> byRecord(InSyncRecord record, String node, MarkdownStore.Position own) {
    if (!record.mayTakeOver(node)) {
      return Optional.of("not in the in-sync set of epoch " + record.epoch() + " (" + (record.members().isEmpty()
        ? "none" : String.join(", ", record.members())) + "): it may lack acknowledged batches");
    }
    if (own.equals(MarkdownStore.Position.NONE)) {
      return Optional.of("its copy is empty although the in-sync record names it (a lost or new disk?): it catches "
        + "up from another copy first");
    }
    return Optional.empty();
  }

  /**
   * The other copies' answers to a promise ({@code {node, epoch, seq, installing}}): one that is
   * further should write instead. With no record ({@code needed >= 0}), at least {@code needed}
   * others must have answered, so that one of them saw every acknowledged batch.
   */
  static Optional<String> byAnswers(List<JsonObject> answers, MarkdownStore.Position own, int needed) {
    int heard = 0;
    for (JsonObject a : answers) {
      if (a.getBoolean("installing", false)) {
        continue; // its files are not whole: it neither counts nor compares
      }
      heard++;
      MarkdownStore.Position theirs = new MarkdownStore.Position(a.getLong("epoch"), a.getLong("seq"));
      if (theirs.compareTo(own) > 0) {
        return Optional.of("copy " + a.getString("node") + " is further (batch " + theirs.seq() + " of epoch "
          + theirs.epoch() + " against " + own.seq() + " of " + own.epoch() + "): it should write");
      }
    }
    if (heard < needed) {
      return Optional.of("starting a new replicated memory needs " + needed + " other replica(s) to answer, " + heard
        + " did");
    }
    return Optional.empty();
  }

  /** Others the node must hear from when there is no record: enough that one saw every acknowledged batch. */
  static int neededWithoutRecord(int replicas) {
    return replicas - ReplicaSet.followersNeeded(replicas) - 1;
  }
}
