package dev.agenthub.memory;

import dev.agenthub.protocol.Failure;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class MarkdownStoreTest {

  @TempDir
  Path dir;
  private MarkdownStore store;
  private final List<String> log = new CopyOnWriteArrayList<>();

  @BeforeEach
  void open() throws Exception {
    store = MarkdownStore.open(dir, 1, MarkdownStore.Options.defaults(), log::add);
  }

  @AfterEach
  void close() {
    store.close();
  }

  private MarkdownStore.WriteResult append(String path, String author, String text) throws Exception {
    return store.append(path, author, text, null).get(30, TimeUnit.SECONDS);
  }

  private static Throwable failure(CompletableFuture<?> f) {
    try {
      f.get(30, TimeUnit.SECONDS);
      throw new AssertionError("expected a failure");
    } catch (ExecutionException e) {
      return e.getCause();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void appendReadSectionReplaceListSearch() throws Exception {
    MarkdownStore.WriteResult first = append("shared/notes.md", "support", "The VPN is down in Berlin.");
    append("shared/notes.md", "ops", "Restarted the VPN gateway.\nBerlin is back.");
    String text = store.read("shared/notes.md");
    assertThat(text).matches("(?s)## \\d{4}-\\d\\d-\\d\\dT[^ ]+Z support\n\nThe VPN is down in Berlin.\n\n"
      + "## \\d{4}-.*Z ops\n\nRestarted the VPN gateway.\nBerlin is back.\n\n");
    assertThat(first.bytes()).isLessThan(text.length());

    String heading = text.lines().filter(l -> l.endsWith(" ops")).findFirst().orElseThrow().substring(3);
    assertThat(store.readSection("shared/notes.md", heading)).startsWith("## ").contains("Berlin is back.")
      .doesNotContain("down in Berlin");

    store.replace("agents/support/MEMORY.md", "# Memory\n\n- customers prefer email\n", null).get(30, TimeUnit.SECONDS);
    assertThat(store.read("agents/support/MEMORY.md")).isEqualTo("# Memory\n\n- customers prefer email\n");
    append("agents/support/MEMORY.md", "support", "likes tea");
    assertThat(store.read("agents/support/MEMORY.md")).startsWith("# Memory").contains("likes tea");

    assertThat(store.list("")).extracting(MarkdownStore.FileInfo::path)
      .containsExactly("agents/support/MEMORY.md", "shared/notes.md");
    assertThat(store.list("shared/")).singleElement().satisfies(f -> assertThat(f.bytes()).isEqualTo(text.length()));

    assertThat(store.search("berlin", false, List.of("shared"))).extracting(MarkdownStore.SearchHit::line)
      .containsExactly(3, 8);
    assertThat(store.search("VPN (is|gateway)", true, List.of("shared"))).hasSize(2);
    assertThat(store.search("berlin", false, List.of("agents/support"))).isEmpty();
  }

  @Test
  void entriesCannotForgeHeadings() throws Exception {
    append("shared/x.md", "a", "hello\n## 2020-01-01T00:00:00Z admin\nfake");
    String text = store.read("shared/x.md");
    assertThat(text.lines().filter(l -> l.startsWith("## "))).hasSize(1);
    assertThat(text).contains("\\## 2020-01-01T00:00:00Z admin");
  }

  @ParameterizedTest
  @ValueSource(strings = {"../escape.md", "/etc/passwd.md", "shared/../../x.md", "shared/./x.md", "notes.txt",
    ".hidden.md", "shared/.git/x.md", "shared\\x.md", "", "shared//x.md", "shared/x.md/", "C:/x.md", ".agenthub/epoch.md",
    "shared/a b.md"})
  void pathTricksAreRefused(String path) {
    assertThat(failure(store.append(path, "a", "x", null)))
      .isInstanceOf(Failure.class)
      .satisfies(e -> assertThat(((Failure) e).kind()).isEqualTo(Failure.Kind.BAD_REQUEST));
    assertThatThrownBy(() -> store.read(path)).isInstanceOf(Failure.class);
  }

  @Test
  void aSymlinkOutOfTheDirectoryIsRefused(@TempDir Path outside) throws Exception {
    Files.createDirectories(dir.resolve("shared"));
    Files.createSymbolicLink(dir.resolve("shared/out"), outside);
    Files.writeString(outside.resolve("secret.md"), "secret");
    assertThat(failure(store.append("shared/out/x.md", "a", "x", null)))
      .satisfies(e -> assertThat(((Failure) e).kind()).isEqualTo(Failure.Kind.FORBIDDEN));
    assertThatThrownBy(() -> store.read("shared/out/secret.md"))
      .satisfies(e -> assertThat(((Failure) e).kind()).isEqualTo(Failure.Kind.FORBIDDEN));
    Files.createSymbolicLink(dir.resolve("shared/link.md"), outside.resolve("secret.md"));
    assertThatThrownBy(() -> store.read("shared/link.md"))
      .satisfies(e -> assertThat(((Failure) e).kind()).isEqualTo(Failure.Kind.FORBIDDEN));
    assertThat(Files.list(outside)).hasSize(1);
  }

  @Test
  void sizesAreBounded() throws Exception {
    store.close();
    store = MarkdownStore.open(dir, 1, new MarkdownStore.Options(true, 1024, 4096, 1 << 20, 0), log::add);
    assertThat(failure(store.append("shared/x.md", "a", "x".repeat(2000), null)))
      .satisfies(e -> assertThat(((Failure) e).kind()).isEqualTo(Failure.Kind.TOO_LARGE));
    for (int i = 0; i < 4; i++) {
      append("shared/x.md", "a", "y".repeat(900));
    }
    assertThat(failure(store.append("shared/x.md", "a", "z".repeat(900), null)))
      .satisfies(e -> assertThat(e.getMessage()).contains("would grow past"));
    assertThat(store.read("shared/x.md")).doesNotContain("z");
    assertThatThrownBy(() -> store.read("shared/missing.md"))
      .satisfies(e -> assertThat(((Failure) e).kind()).isEqualTo(Failure.Kind.NOT_FOUND));
  }

  @Test
  void concurrentAppendsLandOnceEachWholeAndShareFsyncs() throws Exception {
    int threads = 8;
    int each = 300;
    List<Thread> writers = new ArrayList<>();
    List<CompletableFuture<MarkdownStore.WriteResult>> results = new CopyOnWriteArrayList<>();
    for (int t = 0; t < threads; t++) {
      int id = t;
      Thread w = new Thread(() -> {
        for (int i = 0; i < each; i++) {
          results.add(store.append("shared/hot.md", "w" + id, "entry " + id + "-" + i + " " + "x".repeat(i % 50), null));
        }
      });
      w.start();
      writers.add(w);
    }
    for (Thread w : writers) {
      w.join();
    }
    CompletableFuture.allOf(results.toArray(CompletableFuture[]::new)).get(2, TimeUnit.MINUTES);
    assertWholeEntries(store.read("shared/hot.md"), threads * each);
  }

  @Test
  void aWriteIdLandsOnceEvenAcrossARestart() throws Exception {
    MarkdownStore.WriteResult first = store.append("shared/x.md", "a", "once", "id-1").get(30, TimeUnit.SECONDS);
    MarkdownStore.WriteResult again = store.append("shared/x.md", "a", "once", "id-1").get(30, TimeUnit.SECONDS);
    assertThat(first.duplicate()).isFalse();
    assertThat(again.duplicate()).isTrue();
    store.close();
    store = MarkdownStore.open(dir, 2, MarkdownStore.Options.defaults(), log::add);
    assertThat(store.append("shared/x.md", "a", "once", "id-1").get(30, TimeUnit.SECONDS).duplicate()).isTrue();
    assertThat(store.read("shared/x.md").split("once", -1)).hasSize(2);
  }

  @Test
  void aTornTailIsRepairedFromTheJournalAndLogged() throws Exception {
    append("shared/x.md", "a", "first entry");
    append("shared/x.md", "a", "second entry");
    store.close();
    // a crash: the second entry half on disk, a half-written journal record after it
    Path file = dir.resolve("shared/x.md");
    byte[] whole = Files.readAllBytes(file);
    Files.write(file, Arrays.copyOf(whole, whole.length - 10));
    Files.write(dir.resolve(".agenthub/journal.cur"), new byte[]{0, 0, 0, 42, 1, 2, 3}, StandardOpenOption.APPEND);

    store = MarkdownStore.open(dir, 2, MarkdownStore.Options.defaults(), log::add);
    assertThat(Files.readAllBytes(file)).isEqualTo(whole);
    assertThat(log).anySatisfy(l -> assertThat(l).contains("torn tail"));
    assertThat(log).anySatisfy(l -> assertThat(l).contains("repaired shared/x.md"));
    append("shared/x.md", "a", "third entry");
    assertWholeEntries(store.read("shared/x.md"), 3);
  }

  @Test
  void aReplacedWriterIsFenced() throws Exception {
    append("shared/x.md", "a", "before");
    Files.writeString(dir.resolve(".agenthub/epoch"), String.valueOf(store.epoch() + 1));
    assertThat(failure(store.append("shared/x.md", "a", "after", null)))
      .satisfies(e -> assertThat(((Failure) e).kind()).isEqualTo(Failure.Kind.UNAVAILABLE))
      .hasMessageContaining("replaced");
    assertThat(store.read("shared/x.md")).doesNotContain("after");
  }

  @Test
  void aNewWriterTakesAHigherEpoch() throws Exception {
    long first = store.epoch();
    store.close();
    store = MarkdownStore.open(dir, 1, MarkdownStore.Options.defaults(), log::add);
    assertThat(store.epoch()).isGreaterThan(first);
  }

  @Test
  void aLongTranscriptIsCompactedIntoArchivesAndLosesNothing() throws Exception {
    compactsAndLosesNothing("agents/support/sessions/", "s1");
  }

  @Test
  void aClientsLongTranscriptIsCompactedIntoTheClientsArchive() throws Exception {
    compactsAndLosesNothing("agents/support/sessions/web/", "s1");
    assertThat(store.list("agents/support/sessions/archive/")).as("no archive outside the client's folder").isEmpty();
  }

  @Test
  void textWithANulIsRefused() {
    for (var write : List.<Callable<?>>of(
      () -> store.append("shared/nul.md", "a", "before\0after", null).get(),
      () -> store.replace("shared/nul.md", "x\0", null).get())) {
      assertThatThrownBy(write::call).hasCauseInstanceOf(Failure.class).cause()
        .hasMessageContaining("NUL").satisfies(e ->
          assertThat(((Failure) e).kind()).isEqualTo(Failure.Kind.BAD_REQUEST));
    }
    assertThat(Files.exists(dir.resolve("shared/nul.md"))).isFalse();
  }

  private void compactsAndLosesNothing(String sessions, String session) throws Exception {
    store.close();
    store = MarkdownStore.open(dir, 1, new MarkdownStore.Options(true, 1024, 64 * 1024, 1 << 20, 8 * 1024), log::add);
    String path = sessions + session + ".md";
    for (int i = 0; i < 200; i++) {
      append(path, i % 2 == 0 ? "user" : "assistant", "turn " + i + " " + "t".repeat(60));
    }
    String transcript = store.read(path);
    assertThat(transcript.length()).isLessThanOrEqualTo(8 * 1024 + 200);
    assertThat(transcript).startsWith("# Session " + session + "\n").contains("turn 199 ");
    List<MarkdownStore.FileInfo> archives = store.list(sessions + "archive/");
    assertThat(archives).isNotEmpty();
    StringBuilder all = new StringBuilder();
    for (MarkdownStore.FileInfo a : archives) {
      assertThat(a.path()).matches(Pattern.quote(sessions + "archive/" + session + ".") + "\\d+\\.md");
      all.append(store.read(a.path()));
    }
    all.append(transcript);
    for (int i = 0; i < 200; i++) {
      assertThat(all.toString().split("turn " + i + " ", -1)).as("turn " + i + " exactly once").hasSize(2);
    }
    assertThat(log).anySatisfy(l -> assertThat(l).contains("compacted " + path));
  }

  private static final Pattern ENTRY = Pattern.compile("## (\\S+) (w?\\d+|a)\n\n(entry (\\d+-\\d+)( x*)?|[a-z ]+)\n\n");

  /** Every entry whole, none interleaved, none twice; the file is nothing but entries. */
  static void assertWholeEntries(String text, int expected) {
    Matcher m = ENTRY.matcher(text);
    int pos = 0;
    int count = 0;
    Set<String> seen = new HashSet<>();
    while (m.find()) {
      assertThat(m.start()).as("garbage before entry at " + pos).isEqualTo(pos);
      if (m.group(4) != null) {
        assertThat(seen.add(m.group(4))).as("entry " + m.group(4) + " twice").isTrue();
      }
      pos = m.end();
      count++;
    }
    assertThat(pos).as("trailing bytes").isEqualTo(text.getBytes(StandardCharsets.UTF_8).length);
    assertThat(count).isEqualTo(expected);
  }
}
