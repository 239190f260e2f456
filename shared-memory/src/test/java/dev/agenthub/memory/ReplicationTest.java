package dev.agenthub.memory;

import dev.agenthub.protocol.Failure;
import dev.agenthub.testing.Fixtures;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The store's side of replication, with real files: a writer's batches applied by a follower give
 * byte-identical files; a follower refuses a stale writer and a gap; a fenced writer applies
 * nothing; a batch cut short by a crash is dropped; a snapshot plus the tail makes any directory a
 * copy, write ids included.
 */
class ReplicationTest {

  @TempDir
  Path base;
  private final List<MarkdownStore> open = new ArrayList<>();
  private final List<String> log = new CopyOnWriteArrayList<>();

  @AfterEach
  void close() {
    open.forEach(MarkdownStore::close);
  }

  private MarkdownStore replica(String name) throws IOException {
    MarkdownStore s = MarkdownStore.openReplica(base.resolve(name), MarkdownStore.Options.defaults(), log::add);
    open.add(s);
    return s;
  }

  private static <T> T get(CompletableFuture<T> f) throws Exception {
    return f.get(30, TimeUnit.SECONDS);
  }

  private static Failure.Kind failure(CompletableFuture<?> f) {
    try {
      f.get(30, TimeUnit.SECONDS);
      throw new AssertionError("expected a failure");
    } catch (ExecutionException e) {
      return ((Failure) e.getCause()).kind();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  /** Sends every batch to {@code followers} at once, as the writer's replica set does, and waits for all. */
  private static MarkdownStore.Replicator to(MarkdownStore... followers) {
    return (epoch, seq, frames) -> CompletableFuture.allOf(Arrays.stream(followers)
      .map(f -> f.follow(epoch, seq, frames)).toArray(CompletableFuture[]::new));
  }

  private void assertIdentical(MarkdownStore a, MarkdownStore b) throws IOException {
    Map<String, byte[]> fa = Fixtures.memoryFiles(a.root());
    Map<String, byte[]> fb = Fixtures.memoryFiles(b.root());
    assertThat(fb.keySet()).isEqualTo(fa.keySet());
    for (String path : fa.keySet()) {
      assertThat(fb.get(path)).as(path).isEqualTo(fa.get(path));
    }
  }

  @Test
  void aFollowerAppliesTheWritersBatchesToByteIdenticalFiles() throws Exception {
    MarkdownStore follower = replica("f");
    MarkdownStore writer = replica("w");
    get(writer.lead(1, to(follower)));
    List<CompletableFuture<MarkdownStore.WriteResult>> writes = new ArrayList<>();
    for (int i = 0; i < 500; i++) {
      writes.add(writer.append("shared/notes-" + (i % 7) + ".md", "agent", "entry " + i, "id-" + i));
    }
    writes.add(writer.replace("agents/a/MEMORY.md", "# Memory\n\nreplaced whole\n", "r-1"));
    for (var w : writes) {
      get(w);
    }
    assertThat(follower.position()).isEqualTo(writer.position());
    assertThat(follower.applied()).isEqualTo(writer.position());
    assertIdentical(writer, follower);
    // a follower takes no writes of its own
    assertThat(failure(follower.append("shared/x.md", "agent", "mine", null))).isEqualTo(Failure.Kind.UNAVAILABLE);

    // reopened (a restart), it knows where it was and goes on from there
    follower.close();
    MarkdownStore again = replica("f");
    assertThat(again.position()).isEqualTo(writer.position());
    MarkdownStore.Position before = writer.position();
    // the writer still sends to the closed follower: the write is not acknowledged...
    CompletableFuture<MarkdownStore.WriteResult> one = writer.append("shared/later.md", "agent", "later", "later-1");
    assertThat(failure(one)).isEqualTo(Failure.Kind.UNAVAILABLE);
    // ...but its batch is in the writer's log, and the reopened follower catches up from there
    byte[] tail = writer.tail(before.epoch(), before.seq(), 1 << 20).orElseThrow();
    assertThat(tail).isNotEmpty();
    get(again.followAll(writer.position().epoch(), tail));
    assertThat(again.position()).isEqualTo(writer.position());
  }

  @Test
  void aFollowerRefusesAStaleWriterAndAGapAndTakesABatchAgain() throws Exception {
    MarkdownStore follower = replica("f");
    List<byte[]> batches = new CopyOnWriteArrayList<>();
    List<long[]> numbers = new CopyOnWriteArrayList<>();
    MarkdownStore writer = replica("w");
    get(writer.lead(3, (epoch, seq, frames) -> {
      batches.add(frames);
      numbers.add(new long[] {epoch, seq});
      return CompletableFuture.completedFuture(null);
    }));
    get(writer.append("shared/a.md", "agent", "one", null));
    get(writer.append("shared/a.md", "agent", "two", null));
    assertThat(numbers).hasSize(3); // the new writer's empty batch, then one per append

    assertThat(failure(follower.follow(3, 2, batches.get(1)))).isEqualTo(Failure.Kind.OUT_OF_ORDER);
    get(follower.follow(3, 1, batches.get(0)));
    get(follower.follow(3, 2, batches.get(1)));
    get(follower.follow(3, 2, batches.get(1))); // sent again: taken once
    assertThat(follower.position()).isEqualTo(new MarkdownStore.Position(3, 2));
    assertThat(Files.readString(follower.root().resolve("shared/a.md"))).contains("one").doesNotContain("two");

    follower.promise(4);
    assertThat(failure(follower.follow(3, 3, batches.get(2)))).isEqualTo(Failure.Kind.STALE_WRITER);
    // a damaged batch is refused whole
    byte[] damaged = batches.get(2).clone();
    damaged[damaged.length / 2] ^= 0x55;
    assertThat(failure(follower.follow(4, 3, damaged))).isIn(Failure.Kind.BAD_REQUEST);
  }

  /**
   * Issue 24, fault 6: a copy that was down while another went on in an older epoch, then promised
   * the epoch of the next writer, takes the older batches it lacks from that writer (they are
   * checked against the writer that sends them), but refuses them from a writer older than its promise.
   */
  @Test
  void aCopyThatPromisedANewWriterTakesOlderBatchesFromIt() throws Exception {
    MarkdownStore behind = replica("behind");
    MarkdownStore writer = replica("w");
    get(writer.lead(1, to(behind)));
    get(writer.append("shared/a.md", "agent", "both have it", null));
    MarkdownStore.Position left = behind.position();
    behind.close();
    writer.close();
    // the writer goes on alone in epoch 1 (its batches waited for no one), then a restart
    MarkdownStore w1 = replica("w");
    get(w1.lead(2, (e, s, f) -> CompletableFuture.completedFuture(null)));
    for (int i = 0; i < 5; i++) {
      get(w1.append("shared/a.md", "agent", "only the writer " + i, null));
    }
    w1.close();
    MarkdownStore w2 = replica("w");
    MarkdownStore back = replica("behind");
    assertThat(back.position()).isEqualTo(left);
    back.promise(7); // the next writer asked every copy to promise its epoch
    get(w2.lead(7, (e, s, f) -> CompletableFuture.completedFuture(null)));
    byte[] tail = w2.tail(left.epoch(), left.seq(), 1 << 20).orElseThrow();
    assertThat(failure(back.followAll(6, tail))).as("from a writer older than its promise")
      .isEqualTo(Failure.Kind.STALE_WRITER);
    get(back.followAll(7, tail));
    assertThat(back.position()).isEqualTo(w2.position());
    assertIdentical(w2, back);
  }

  @Test
  void aWriterFencedByANewerEpochAppliesNothingAndAnswersNoWrite() throws Exception {
    MarkdownStore follower = replica("f");
    MarkdownStore writer = replica("w");
    get(writer.lead(1, to(follower)));
    get(writer.append("shared/a.md", "agent", "before", null));
    follower.promise(2); // a new writer took over and reached this follower
    assertThat(failure(writer.append("shared/a.md", "agent", "after", null))).isEqualTo(Failure.Kind.UNAVAILABLE);
    assertThat(Files.readString(writer.root().resolve("shared/a.md"))).contains("before").doesNotContain("after");
    assertThat(writer.leading()).isFalse();
    assertThat(failure(writer.append("shared/a.md", "agent", "later", null))).isEqualTo(Failure.Kind.UNAVAILABLE);
  }

  @Test
  void aBatchACrashLeftWithoutItsMarkIsCutAtRecovery() throws Exception {
    MarkdownStore writer = MarkdownStore.open(base.resolve("w"), 1, MarkdownStore.Options.defaults(), log::add);
    writer.append("shared/a.md", "agent", "whole", null).get(30, TimeUnit.SECONDS);
    MarkdownStore.Position at = writer.position();
    writer.close();
    // a record of the next batch reached the journal, its mark did not
    byte[] frames = Journal.encodeAll(List.of(new Journal.Record(Journal.APPEND, 1, "shared/a.md",
      Files.size(base.resolve("w/shared/a.md")), null, "## torn\n\nnever acknowledged\n\n".getBytes())));
    Files.write(base.resolve("w/.agenthub/journal.cur"), frames, StandardOpenOption.APPEND);
    MarkdownStore again = replica("w");
    assertThat(again.position()).isEqualTo(at);
    assertThat(Files.readString(base.resolve("w/shared/a.md"))).contains("whole").doesNotContain("never acknowledged");
    assertThat(log).anyMatch(l -> l.contains("unfinished"));
  }

  @Test
  void aSnapshotAndTheTailMakeAnyDirectoryACopyWriteIdsIncluded() throws Exception {
    MarkdownStore writer = replica("w");
    get(writer.lead(1, (e, s, f) -> CompletableFuture.completedFuture(null)));
    for (int i = 0; i < 200; i++) {
      get(writer.append("shared/s-" + (i % 5) + ".md", "agent", "entry " + i, "id-" + i));
    }
    get(writer.replace("agents/a/MEMORY.md", "# Memory\n", null));

    MarkdownStore stale = replica("f");
    Files.createDirectories(stale.root().resolve("shared"));
    Files.writeString(stale.root().resolve("shared/s-0.md"), "a divergent copy\n");
    Files.writeString(stale.root().resolve("shared/only-here.md"), "not on the writer\n");
    Files.createDirectories(stale.root().resolve("agents/a/MEMORY.md.d"));

    get(stale.beginSnapshot());
    MarkdownStore.Position from = null;
    String cursor = "";
    int parts = 0;
    do {
      MarkdownStore.SnapshotPart part = get(writer.snapshot(cursor, 2_000)); // small parts: several of them
      if (from == null) {
        from = part.from();
      }
      get(stale.installSnapshot(part.frames()));
      cursor = part.next();
      parts++;
      // writes go on while the snapshot is read
      get(writer.append("shared/s-1.md", "agent", "during part " + parts, "during-" + parts));
    } while (cursor != null);
    assertThat(parts).isGreaterThan(1);
    get(stale.finishSnapshot(from));
    get(stale.followAll(1, writer.tail(from.epoch(), from.seq(), 1 << 24).orElseThrow()));
    assertThat(stale.position()).isEqualTo(writer.position());
    assertIdentical(writer, stale);

    // made the writer later, it knows the write ids the snapshot carried: a retry lands once
    writer.close();
    get(stale.lead(2, (e, s, f) -> CompletableFuture.completedFuture(null)));
    assertThat(get(stale.append("shared/s-3.md", "agent", "entry 3", "id-3")).duplicate()).isTrue();
    assertThat(get(stale.append("shared/s-1.md", "agent", "during part 1", "during-1")).duplicate()).isTrue();
  }
}
