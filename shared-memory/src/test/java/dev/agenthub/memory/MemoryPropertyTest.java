package dev.agenthub.memory;

import dev.agenthub.protocol.Failure;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Random sequences of appends and replaces over clashing paths (a file where a folder is, paths
 * through files), deep folders, unicode names (refused as names) and texts, oversize entries and retried write ids,
 * against one store, with a crash between rounds: a torn journal tail, file bytes that never reached
 * the disk, or nothing. After every reopen the store opens, and every acknowledged write is there
 * exactly once; a refused one nowhere. Seeds are fixed, so a failure reproduces.
 */
class MemoryPropertyTest {

  @TempDir
  Path dir;

  private static final String[] SEGMENTS = {"shared", "p.md", "q.md", "deep", "ünï", "日本", "a", "b.md", "x-y"};

  /** A path of 1-4 segments ending in .md, often clashing with an earlier one. */
  private static String path(Random r) {
    int depth = 1 + r.nextInt(4);
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < depth; i++) {
      if (i > 0) {
        sb.append('/');
      }
      sb.append(SEGMENTS[r.nextInt(SEGMENTS.length)]);
    }
    String p = sb.toString();
    return p.endsWith(".md") ? p : p + ".md";
  }

  @Test
  void everyAcknowledgedWriteSurvivesEveryCrashExactlyOnce() throws Exception {
    for (long seed = 1; seed <= 12; seed++) {
      Path root = Files.createDirectories(dir.resolve("seed-" + seed));
      run(new Random(seed), root, seed);
    }
  }

  private void run(Random r, Path root, long seed) throws Exception {
    MarkdownStore.Options options = new MarkdownStore.Options(true, 2048, 64 * 1024, 256 * 1024, 0);
    List<String> log = new CopyOnWriteArrayList<>();
    // what must be in the files: for each acknowledged append its unique marker; for each path the
    // marker of its last acknowledged replace, after which only later appends count
    Map<String, List<String>> appended = new HashMap<>();
    Map<String, String> replaced = new HashMap<>();
    List<String> refused = new ArrayList<>();
    int markers = 0;
    long epoch = 1;
    MarkdownStore store = MarkdownStore.open(root, epoch, options, log::add);
    for (int round = 0; round < 8; round++) {
      List<CompletableFuture<MarkdownStore.WriteResult>> acks = new ArrayList<>();
      List<String[]> ops = new ArrayList<>();
      int n = 5 + r.nextInt(25);
      for (int i = 0; i < n; i++) {
        String p = path(r);
        String marker = "m" + seed + "-" + (++markers) + "-" + (r.nextBoolean() ? "ü✓" : "x");
        boolean replace = r.nextInt(6) == 0;
        boolean oversize = r.nextInt(15) == 0;
        String text = oversize ? marker + " " + "z".repeat(3000) : marker + " text";
        String writeId = "w-" + marker;
        CompletableFuture<MarkdownStore.WriteResult> ack = replace ? store.replace(p, "# " + text + "\n", writeId)
          : store.append(p, "prop", text, writeId);
        acks.add(ack);
        ops.add(new String[]{p, marker, replace ? "replace" : "append"});
        if (r.nextInt(5) == 0) {
          acks.add(store.append(p, "prop", text, writeId)); // a retry of the same write: lands once
          ops.add(new String[]{p, marker, "retry"});
        }
      }
      for (int i = 0; i < acks.size(); i++) {
        String[] op = ops.get(i);
        try {
          acks.get(i).get(30, TimeUnit.SECONDS);
          if (op[2].equals("replace")) {
            replaced.put(op[0], op[1]);
            appended.put(op[0], new ArrayList<>());
          } else if (op[2].equals("append")) {
            appended.computeIfAbsent(op[0], k -> new ArrayList<>()).add(op[1]);
          }
        } catch (ExecutionException e) {
          assertThat(e.getCause()).as("seed %d: %s %s", seed, op[2], op[0]).isInstanceOf(Failure.class);
          Failure.Kind kind = ((Failure) e.getCause()).kind();
          assertThat(kind).as("seed %d: %s %s: %s", seed, op[2], op[0], e.getCause().getMessage())
            .isIn(Failure.Kind.CONFLICT, Failure.Kind.TOO_LARGE, Failure.Kind.BAD_REQUEST);
          if (!op[2].equals("retry")) {
            refused.add(op[1]);
          }
        }
      }
      // the crash: no orderly close; then, at random, a torn journal tail or lost file bytes
      store.close();
      switch (r.nextInt(3)) {
        case 0 -> tearJournal(root, r);
        case 1 -> loseUnflushedBytes(root, r);
        default -> {
          // a clean stop
        }
      }
      store = MarkdownStore.open(root, ++epoch, options, log::add);
      check(root, appended, replaced, refused, seed);
    }
    store.close();
    assertThat(log).as("seed %d", seed).noneMatch(l -> l.contains("quarantined"));
  }

  private static void tearJournal(Path root, Random r) throws Exception {
    Path journal = root.resolve(MemoryLayout.STATE_DIR).resolve("journal.cur");
    if (Files.exists(journal)) {
      byte[] garbage = new byte[1 + r.nextInt(40)];
      r.nextBytes(garbage);
      Files.write(journal, garbage, StandardOpenOption.APPEND);
    }
  }

  /**
   * Cuts off part of the last write the journal still holds for some file, as if those bytes never
   * left the page cache (what the journal no longer holds was forced to disk before it let it go).
   */
  private static void loseUnflushedBytes(Path root, Random r) throws Exception {
    Path state = root.resolve(MemoryLayout.STATE_DIR);
    List<Journal.Record> records = new ArrayList<>(Journal.readAndRepair(state.resolve("journal.prev"), l -> { }));
    records.addAll(Journal.readAndRepair(state.resolve("journal.cur"), l -> { }));
    Map<String, Journal.Record> last = new HashMap<>();
    records.forEach(rec -> last.put(rec.path(), rec));
    List<Journal.Record> candidates = last.values().stream()
      .filter(rec -> rec.op() == Journal.APPEND && Files.isRegularFile(root.resolve(rec.path()))).toList();
    if (candidates.isEmpty()) {
      return;
    }
    Journal.Record victim = candidates.get(r.nextInt(candidates.size()));
    try (FileChannel ch = FileChannel.open(root.resolve(victim.path()), StandardOpenOption.WRITE)) {
      ch.truncate(Math.min(ch.size(), victim.offset() + r.nextInt(victim.data().length)));
    }
  }

  private static void check(Path root, Map<String, List<String>> appended, Map<String, String> replaced,
                            List<String> refused, long seed) throws Exception {
    Map<String, String> contents = new HashMap<>();
    try (Stream<Path> files = Files.walk(root)) {
      for (Path f : files.filter(Files::isRegularFile).toList()) {
        String rel = root.relativize(f).toString();
        if (!rel.startsWith(MemoryLayout.STATE_DIR)) {
          contents.put(rel, Files.readString(f, StandardCharsets.UTF_8));
        }
      }
    }
    for (var e : appended.entrySet()) {
      String text = contents.getOrDefault(e.getKey(), "");
      for (String marker : e.getValue()) {
        assertThat(count(text, marker + " ")).as("seed %d: %s in %s", seed, marker, e.getKey()).isEqualTo(1);
      }
    }
    for (var e : replaced.entrySet()) {
      assertThat(contents.getOrDefault(e.getKey(), "")).as("seed %d: %s", seed, e.getKey()).startsWith("# " + e.getValue());
    }
    String all = String.join("\n", contents.values());
    for (String marker : refused) {
      assertThat(all).as("seed %d: refused %s", seed, marker).doesNotContain(marker + " ");
    }
  }

  private static int count(String text, String what) {
    int n = 0;
    for (int i = text.indexOf(what); i >= 0; i = text.indexOf(what, i + 1)) {
      n++;
    }
    return n;
  }

  @Test
  void aFileWhereAFolderIsIsAConflictAndTheStoreStillOpens() throws Exception {
    MarkdownStore store = MarkdownStore.open(dir, 1, MarkdownStore.Options.defaults(), l -> { });
    store.append("shared/p.md/q.md", "a", "inside", null).get(30, TimeUnit.SECONDS);
    var clash = store.append("shared/p.md", "a", "over the folder", null);
    assertThat(clash).failsWithin(30, TimeUnit.SECONDS).withThrowableOfType(ExecutionException.class)
      .havingCause().isInstanceOf(Failure.class)
      .satisfies(e -> assertThat(((Failure) e).kind()).isEqualTo(Failure.Kind.CONFLICT));
    store.append("shared/f.md", "a", "a file", null).get(30, TimeUnit.SECONDS);
    var through = store.append("shared/f.md/g.md", "a", "through the file", null);
    assertThat(through).failsWithin(30, TimeUnit.SECONDS).withThrowableOfType(ExecutionException.class)
      .havingCause().satisfies(e -> assertThat(((Failure) e).kind()).isEqualTo(Failure.Kind.CONFLICT));
    store.close();
    MarkdownStore again = MarkdownStore.open(dir, 2, MarkdownStore.Options.defaults(), l -> { });
    assertThat(again.read("shared/p.md/q.md")).contains("inside");
    again.append("shared/p.md/r.md", "a", "still writable", null).get(30, TimeUnit.SECONDS);
    again.close();
  }

  @Test
  void aJournalRecordThatCannotBeAppliedIsQuarantinedAndRecoveryGoesOn() throws Exception {
    List<String> log = new CopyOnWriteArrayList<>();
    MarkdownStore store = MarkdownStore.open(dir, 1, MarkdownStore.Options.defaults(), log::add);
    store.append("shared/ok.md", "a", "kept", null).get(30, TimeUnit.SECONDS);
    store.append("shared/later.md", "a", "later", null).get(30, TimeUnit.SECONDS);
    store.close();
    // what an older version could journal: now the record for later.md runs into a folder of that name
    Path later = dir.resolve("shared/later.md");
    Files.delete(later);
    Files.createDirectories(later.resolve("sub"));
    MarkdownStore again = MarkdownStore.open(dir, 2, MarkdownStore.Options.defaults(), log::add);
    assertThat(again.read("shared/ok.md")).contains("kept");
    again.append("shared/ok.md", "a", "and more", null).get(30, TimeUnit.SECONDS);
    again.close();
    assertThat(log).anyMatch(l -> l.contains("quarantined a journal record for shared/later.md"));
    try (Stream<Path> q = Files.list(dir.resolve(MemoryLayout.STATE_DIR).resolve("quarantine"))) {
      List<Path> kept = q.toList();
      assertThat(kept).hasSize(1);
      assertThat(Files.readString(kept.get(0))).contains("\"path\":\"shared/later.md\"").contains("data_base64");
    }
  }
}
