package dev.agenthub.memory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * The Markdown memory directory, plain Java. Reads run on the caller's thread; every write goes
 * through one committer thread that batches them: the batch is framed into the {@link Journal} and
 * forced to disk with one fsync, then applied to the Markdown files, then acknowledged. A crash at
 * any point is repaired at the next {@link #open} by replaying the journal, so files only ever hold
 * whole entries. The caller must hold the directory's lock ({@link DirectoryLock}).
 */
public final class MarkdownStore implements AutoCloseable {

  /** Directory of the store's own state; hidden, so no memory path can reach it. */
  public static final String STATE_DIR = ".agenthub";
  /**
   * The largest file the store keeps: a whole file is one journal record when it is replaced, so it
   * must fit the journal's record, with room for the record's path and header.
   */
  public static final long MAX_FILE_BYTES = Journal.MAX_RECORD - 64 * 1024;

  /**
   * @param fsync              force the journal before acknowledging (the default)
   * @param maxEntryBytes      largest single append
   * @param maxFileBytes       largest file an append or replace may produce
   * @param journalSegmentBytes journal size that triggers a checkpoint
   * @param transcriptMaxBytes a session transcript past this size is compacted (0 = never)
   */
  public record Options(boolean fsync, int maxEntryBytes, long maxFileBytes, long journalSegmentBytes,
                        long transcriptMaxBytes) {
    public static Options defaults() {
      return new Options(true, 64 * 1024, 8L * 1024 * 1024, 16L * 1024 * 1024, 256 * 1024);
    }
  }

  /** A file and its size. */
  public record FileInfo(String path, long bytes) {
  }

  /** One search match. */
  public record SearchHit(String path, int line, String excerpt) {
  }

  /** A durable write: the file and its size after it; {@code duplicate} if the write id had landed before. */
  public record WriteResult(String path, long bytes, boolean duplicate) {
  }

  private record Op(byte kind, MemoryPath path, byte[] data, String writeId, CompletableFuture<WriteResult> result) {
  }

  // wakes the committer at close
  private static final Op STOP = new Op((byte) 0, null, null, null, null);
  // a place in the queue, completed once the writes before it are applied
  private static final byte BARRIER = (byte) 0x7f;
  private static final int MAX_BATCH = 4096;
  private static final int MAX_OPEN_FILES = 256;
  private static final int MAX_KNOWN_SIZES = 65_536;
  // files forced per idle moment of the committer, so a burst of writes that follows waits little
  private static final int IDLE_FORCES = 64;
  private static final int MAX_WRITE_IDS = 200_000;
  private static final int MAX_SEARCH_HITS = 100;
  private static final Pattern AUTHOR = Pattern.compile("[A-Za-z0-9_.@:-][A-Za-z0-9 _.@:-]{0,63}");
  private static final Pattern TRANSCRIPT = Pattern.compile("(agents/[^/]+/sessions)/([^/]+)\\.md");
  private static final Pattern HEADING_LINE = Pattern.compile("(?m)^(#{1,2} )");

  private final Path root;
  private final Options options;
  private final Consumer<String> log;
  private final Journal journal;
  private final long epoch;
  private final Path epochFile;
  private final BlockingQueue<Op> queue = new LinkedBlockingQueue<>();
  private final Thread committer;
  // committer-thread state
  private final LinkedHashMap<String, FileChannel> open = new LinkedHashMap<>(64, 0.75f, true);
  // sizes of the files written lately (the rest are read from disk when written again)
  private final LinkedHashMap<String, Long> sizes = new LinkedHashMap<>(1024, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Long> eldest) {
      return size() > MAX_KNOWN_SIZES;
    }
  };
  // open files written since they were last forced
  private final Set<String> dirty = new HashSet<>();
  // files closed (to keep MAX_OPEN_FILES) before their data was forced: forced when the committer is
  // idle, and all of them before a checkpoint drops the journal that still holds their data. Forcing
  // each one as it was closed cost one fsync per write once sessions outnumbered the open files.
  private final Set<String> unsynced = new LinkedHashSet<>();
  private final Set<Path> checkedDirs = new HashSet<>();
  private final LinkedHashMap<String, WriteResult> writeIds = new LinkedHashMap<>() {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, WriteResult> eldest) {
      return size() > MAX_WRITE_IDS;
    }
  };
  private volatile boolean closed;
  private volatile MemoryException fenced;

  private MarkdownStore(Path root, Options options, Consumer<String> log, long epoch) throws IOException {
    this.root = root;
    this.options = options;
    this.log = log;
    Path state = root.resolve(STATE_DIR);
    Files.createDirectories(state);
    this.epochFile = state.resolve("epoch");
    long previous = readEpoch(epochFile);
    this.epoch = Math.max(epoch, previous + 1);
    recover(state);
    writeEpoch(epochFile, this.epoch);
    this.journal = new Journal(state);
    this.committer = new Thread(this::commitLoop, "agenthub-memory-committer");
    this.committer.setDaemon(true);
    this.committer.start();
  }

  /**
   * Opens the store at {@code dir} (created if missing), replaying the journal to repair whatever a
   * crash left behind. {@code epoch} is this writer's fencing epoch; the store raises it above the
   * last writer's if needed.
   */
  public static MarkdownStore open(Path dir, long epoch, Options options, Consumer<String> log) throws IOException {
    if (options.maxFileBytes() > MAX_FILE_BYTES || options.maxEntryBytes() > MAX_FILE_BYTES) {
      throw new IllegalArgumentException("files and entries are at most " + MAX_FILE_BYTES
        + " bytes: a whole file must fit one journal record");
    }
    Files.createDirectories(dir);
    return new MarkdownStore(dir.toRealPath(), options, log, epoch);
  }

  public Path root() {
    return root;
  }

  public long epoch() {
    return epoch;
  }

  // ---------------------------------------------------------------- writes

  /** Appends an entry {@code ## <ISO time> <author>} with {@code text}; completes once it is durable. */
  public CompletableFuture<WriteResult> append(String path, String author, String text, String writeId) {
    try {
      MemoryPath p = MemoryPath.of(path);
      if (author == null || !AUTHOR.matcher(author).matches()) {
        throw new MemoryException(MemoryException.Kind.INVALID,
          "author must be 1-64 of letters, digits, space, _ . @ : -");
      }
      if (text == null || text.isBlank()) {
        throw new MemoryException(MemoryException.Kind.INVALID, "an entry needs some text");
      }
      byte[] entry = entry(author, text).getBytes(StandardCharsets.UTF_8);
      if (entry.length > options.maxEntryBytes()) {
        throw new MemoryException(MemoryException.Kind.TOO_LARGE, "entry of " + entry.length + " bytes is over the "
          + options.maxEntryBytes() + "-byte limit");
      }
      return submit(new Op(Journal.APPEND, p, entry, writeId, new CompletableFuture<>()));
    } catch (MemoryException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /** Replaces a whole file atomically; completes once it is durable. */
  public CompletableFuture<WriteResult> replace(String path, String content, String writeId) {
    try {
      MemoryPath p = MemoryPath.of(path);
      byte[] data = (content == null ? "" : content).getBytes(StandardCharsets.UTF_8);
      if (data.length > options.maxFileBytes()) {
        throw new MemoryException(MemoryException.Kind.TOO_LARGE, "file of " + data.length + " bytes is over the "
          + options.maxFileBytes() + "-byte limit");
      }
      return submit(new Op(Journal.REPLACE, p, data, writeId, new CompletableFuture<>()));
    } catch (MemoryException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  static String entry(String author, String text) {
    // a line starting with "# " or "## " inside the text would forge a heading: escape it
    String body = HEADING_LINE.matcher(text.strip().replace("\r\n", "\n")).replaceAll("\\\\$1");
    return "## " + Instant.now().truncatedTo(ChronoUnit.MILLIS) + " " + author + "\n\n" + body + "\n\n";
  }

  /**
   * Completes once every write submitted before it is applied to the files: a read after it sees
   * them all (writes are acknowledged only once applied, but may still be queued when a read starts).
   */
  public CompletableFuture<Void> barrier() {
    return submit(new Op(BARRIER, null, null, null, new CompletableFuture<>())).thenApply(r -> null);
  }

  private CompletableFuture<WriteResult> submit(Op op) {
    if (fenced != null) {
      return CompletableFuture.failedFuture(fenced);
    }
    if (closed) {
      return CompletableFuture.failedFuture(new MemoryException(MemoryException.Kind.UNAVAILABLE, "memory store closed"));
    }
    queue.add(op);
    return op.result();
  }

  private void commitLoop() {
    List<Op> batch = new ArrayList<>();
    while (!closed || !queue.isEmpty()) {
      try {
        Op first = queue.poll(1, TimeUnit.SECONDS);
        if (first == null) {
          flushDirty();
          continue;
        }
        batch.add(first);
        queue.drainTo(batch, MAX_BATCH - 1);
        batch.removeIf(op -> op == STOP);
        if (!batch.isEmpty()) {
          commit(batch);
        }
        if (queue.isEmpty()) {
          forceUnsynced(IDLE_FORCES);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      } catch (Exception e) {
        MemoryException failure = new MemoryException(MemoryException.Kind.IO, "memory write failed: "
          + e.getClass().getSimpleName());
        log.accept("memory: write batch failed: " + e);
        batch.forEach(op -> op.result().completeExceptionally(failure));
      } finally {
        batch.clear();
      }
    }
  }

  private void commit(List<Op> batch) throws IOException {
    checkFence();
    if (fenced != null) {
      batch.forEach(op -> op.result().completeExceptionally(fenced));
      return;
    }
    List<Journal.Record> records = new ArrayList<>(batch.size());
    List<Op> accepted = new ArrayList<>(batch.size());
    Map<String, Long> planned = new HashMap<>();
    Set<String> plannedDirs = new HashSet<>();
    Map<String, Op> batchIds = new HashMap<>();
    List<Op> barriers = new ArrayList<>();
    for (Op op : batch) {
      if (op.kind() == BARRIER) {
        barriers.add(op);
        continue;
      }
      if (op.writeId() != null && writeIds.containsKey(op.writeId())) {
        WriteResult first = writeIds.get(op.writeId());
        op.result().complete(new WriteResult(first.path(), first.bytes(), true));
        continue;
      }
      if (op.writeId() != null && batchIds.containsKey(op.writeId())) {
        // a retry queued behind its own first attempt: answer with the first attempt's result
        batchIds.get(op.writeId()).result().whenComplete((r, err) -> {
          if (err != null) {
            op.result().completeExceptionally(err);
          } else {
            op.result().complete(new WriteResult(r.path(), r.bytes(), true));
          }
        });
        continue;
      }
      if (op.writeId() != null) {
        batchIds.put(op.writeId(), op);
      }
      try {
        String path = op.path().value();
        // nothing enters the journal that could not be applied: a file where a folder is, or a path
        // through a file, on disk or earlier in this batch, is refused here (a journaled record that
        // fails would fail again at every replay)
        checkNoClash(op.path(), planned.keySet(), plannedDirs);
        Path file = resolveForWrite(op.path());
        long size = planned.containsKey(path) ? planned.get(path) : currentSize(path, file);
        long offset = op.kind() == Journal.APPEND ? size : 0;
        long after = offset + op.data().length;
        if (after > options.maxFileBytes()) {
          throw new MemoryException(MemoryException.Kind.TOO_LARGE, path + " would grow past the "
            + options.maxFileBytes() + "-byte limit");
        }
        planned.put(path, after);
        for (int slash = path.indexOf('/'); slash > 0; slash = path.indexOf('/', slash + 1)) {
          plannedDirs.add(path.substring(0, slash));
        }
        records.add(new Journal.Record(op.kind(), epoch, path, offset, op.writeId(), op.data()));
        accepted.add(op);
      } catch (MemoryException e) {
        op.result().completeExceptionally(e);
      }
    }
    if (records.isEmpty()) {
      barriers.forEach(b -> b.result().complete(null));
      return;
    }
    journal.write(records);
    if (options.fsync()) {
      journal.force();
    }
    Set<String> oversize = new HashSet<>();
    for (int i = 0; i < records.size(); i++) {
      Journal.Record r = records.get(i);
      apply(r);
      long bytes = r.offset() + r.data().length;
      WriteResult result = new WriteResult(r.path(), bytes, false);
      if (r.writeId() != null) {
        writeIds.put(r.writeId(), result);
      }
      accepted.get(i).result().complete(result);
      if (r.op() == Journal.APPEND && options.transcriptMaxBytes() > 0 && bytes > options.transcriptMaxBytes()
        && TRANSCRIPT.matcher(r.path()).matches()) {
        oversize.add(r.path());
      }
    }
    for (String path : oversize) {
      compact(path);
    }
    barriers.forEach(b -> b.result().complete(null));
    if (journal.size() > options.journalSegmentBytes()) {
      checkpoint();
    }
  }

  /**
   * Moves the older turns of a transcript into {@code sessions/archive/<session>.<n>.md} and leaves
   * the newest ones (half the limit) under a short header. Runs on the committer thread, between
   * batches, so no append can slip in between the read and the two replaces.
   */
  private void compact(String path) throws IOException {
    Matcher m = TRANSCRIPT.matcher(path);
    if (!m.matches()) {
      return;
    }
    String dirPath = m.group(1);
    String session = m.group(2);
    closeChannel(path);
    String text = Files.readString(root.resolve(path), StandardCharsets.UTF_8);
    List<String> entries = new ArrayList<>();
    int start = -1;
    for (int i = 0; i < text.length(); i = text.indexOf('\n', i) + 1) {
      if (text.startsWith("## ", i)) {
        if (start >= 0) {
          entries.add(text.substring(start, i));
        }
        start = i;
      }
      if (text.indexOf('\n', i) < 0) {
        break;
      }
    }
    if (start >= 0) {
      entries.add(text.substring(start));
    }
    long budget = options.transcriptMaxBytes() / 2;
    int keepFrom = entries.size();
    long kept = 0;
    while (keepFrom > 0 && kept + entries.get(keepFrom - 1).length() <= budget) {
      keepFrom--;
      kept += entries.get(keepFrom).length();
    }
    if (keepFrom == 0) {
      return; // nothing old enough to archive
    }
    int n = 1;
    while (Files.exists(root.resolve(dirPath + "/archive/" + session + "." + n + ".md"))) {
      n++;
    }
    String archivePath = dirPath + "/archive/" + session + "." + n + ".md";
    StringBuilder archive = new StringBuilder("# Session " + session + ", archive " + n + "\n\n");
    entries.subList(0, keepFrom).forEach(archive::append);
    StringBuilder rest = new StringBuilder("# Session " + session + "\n\nOlder turns: archive/" + session + ".1.md"
      + (n > 1 ? " to archive/" + session + "." + n + ".md" : "") + "\n\n");
    entries.subList(keepFrom, entries.size()).forEach(rest::append);
    resolveForWrite(MemoryPath.of(archivePath));
    List<Journal.Record> records = List.of(
      new Journal.Record(Journal.REPLACE, epoch, archivePath, 0, null, archive.toString().getBytes(StandardCharsets.UTF_8)),
      new Journal.Record(Journal.REPLACE, epoch, path, 0, null, rest.toString().getBytes(StandardCharsets.UTF_8)));
    journal.write(records);
    if (options.fsync()) {
      journal.force();
    }
    for (Journal.Record r : records) {
      apply(r);
    }
    log.accept("memory: compacted " + path + ": " + keepFrom + " older turns moved to " + archivePath);
  }

  private void apply(Journal.Record r) throws IOException {
    Path file = root.resolve(r.path());
    if (r.op() == Journal.REPLACE) {
      closeChannel(r.path());
      writeAtomically(file, r.data(), options.fsync());
      unsynced.remove(r.path());
      sizes.put(r.path(), (long) r.data().length);
      return;
    }
    FileChannel ch = channel(r.path(), file);
    ByteBuffer data = ByteBuffer.wrap(r.data());
    long pos = r.offset();
    while (data.hasRemaining()) {
      pos += ch.write(data, pos);
    }
    sizes.put(r.path(), pos);
    dirty.add(r.path());
  }

  static void writeAtomically(Path file, byte[] data, boolean fsync) throws IOException {
    Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
    try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
      StandardOpenOption.TRUNCATE_EXISTING)) {
      ByteBuffer buf = ByteBuffer.wrap(data);
      while (buf.hasRemaining()) {
        ch.write(buf);
      }
      if (fsync) {
        ch.force(true);
      }
    }
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    if (fsync) {
      forceDirectory(file.getParent());
    }
  }

  static void forceDirectory(Path dir) throws IOException {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    }
  }

  private FileChannel channel(String path, Path file) throws IOException {
    FileChannel ch = open.get(path);
    if (ch == null) {
      ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
      open.put(path, ch);
      if (open.size() > MAX_OPEN_FILES) {
        String eldest = open.keySet().iterator().next();
        closeChannel(eldest);
      }
    }
    return ch;
  }

  private void closeChannel(String path) throws IOException {
    FileChannel ch = open.remove(path);
    if (ch != null) {
      if (dirty.remove(path) && options.fsync()) {
        unsynced.add(path);
      }
      ch.close();
    }
  }

  /** Forces up to {@code max} closed files whose data only the journal holds durably yet. */
  private void forceUnsynced(int max) throws IOException {
    var it = unsynced.iterator();
    for (int n = 0; n < max && it.hasNext(); n++) {
      String path = it.next();
      it.remove();
      try (FileChannel ch = FileChannel.open(root.resolve(path), StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
        ch.force(false);
      } catch (NoSuchFileException gone) {
        // replaced or archived since: the replacement was forced when it was written
      }
    }
  }

  private long currentSize(String path, Path file) throws IOException {
    Long known = sizes.get(path);
    if (known != null) {
      return known;
    }
    long size = Files.exists(file, LinkOption.NOFOLLOW_LINKS) ? Files.size(file) : 0;
    sizes.put(path, size);
    return size;
  }

  /** Forces the files written since the last flush; the journal already holds their data. */
  private void flushDirty() throws IOException {
    forceUnsynced(Integer.MAX_VALUE);
    if (dirty.isEmpty()) {
      return;
    }
    for (String path : dirty) {
      FileChannel ch = open.get(path);
      if (ch != null && options.fsync()) {
        ch.force(false);
      }
    }
    dirty.clear();
  }

  private void checkpoint() throws IOException {
    flushDirty();
    for (String path : new ArrayList<>(open.keySet())) {
      closeChannel(path);
    }
    checkedDirs.forEach(dir -> {
      try {
        forceDirectory(dir);
      } catch (IOException e) {
        log.accept("memory: could not force directory " + dir + ": " + e.getMessage());
      }
    });
    journal.rotate();
  }

  private void checkFence() throws IOException {
    long current = readEpoch(epochFile);
    if (current != epoch && fenced == null) {
      fenced = new MemoryException(MemoryException.Kind.UNAVAILABLE,
        "this memory writer (epoch " + epoch + ") was replaced by epoch " + current + "; it no longer writes");
      log.accept("memory: " + fenced.getMessage());
    }
  }

  // ---------------------------------------------------------------- reads

  /** The whole file. */
  public String read(String path) {
    Path file = resolveForRead(MemoryPath.of(path));
    try {
      return Files.readString(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      throw new MemoryException(MemoryException.Kind.NOT_FOUND, "no memory file " + path);
    } catch (IOException e) {
      throw new MemoryException(MemoryException.Kind.IO, "cannot read " + path);
    }
  }

  /** The {@code ## } section whose heading starts with {@code heading}, up to the next {@code ## }. */
  public String readSection(String path, String heading) {
    String text = read(path);
    String[] lines = text.split("\n", -1);
    StringBuilder out = null;
    for (String line : lines) {
      if (line.startsWith("## ")) {
        if (out != null) {
          break;
        }
        if (line.substring(3).startsWith(heading)) {
          out = new StringBuilder();
        }
      }
      if (out != null) {
        out.append(line).append('\n');
      }
    }
    if (out == null) {
      throw new MemoryException(MemoryException.Kind.NOT_FOUND, "no section '" + heading + "' in " + path);
    }
    return out.toString().stripTrailing() + "\n";
  }

  /** Files whose path starts with {@code prefix} (empty: all), with sizes, sorted by path. */
  public List<FileInfo> list(String prefix) {
    List<FileInfo> out = new ArrayList<>();
    try {
      walk(root, "", prefix == null ? "" : prefix, out);
    } catch (IOException e) {
      throw new MemoryException(MemoryException.Kind.IO, "cannot list the memory directory");
    }
    out.sort(Comparator.comparing(FileInfo::path));
    return out;
  }

  private void walk(Path dir, String rel, String prefix, List<FileInfo> out) throws IOException {
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
      for (Path entry : entries) {
        String name = entry.getFileName().toString();
        if (name.startsWith(".") || Files.isSymbolicLink(entry)) {
          continue;
        }
        String path = rel.isEmpty() ? name : rel + "/" + name;
        if (Files.isDirectory(entry, LinkOption.NOFOLLOW_LINKS)) {
          if (prefix.startsWith(path + "/") || (path + "/").startsWith(prefix) || prefix.isEmpty()) {
            walk(entry, path, prefix, out);
          }
        } else if (name.endsWith(".md") && path.startsWith(prefix)) {
          out.add(new FileInfo(path, Files.size(entry)));
        }
      }
    }
  }

  /**
   * Lines matching {@code query} (case-insensitive text, or a regex) in the files under any of
   * {@code prefixes}; at most {@value #MAX_SEARCH_HITS} hits.
   */
  private static final long SEARCH_BUDGET_NANOS = 2_000_000_000L;
  private static final int MAX_SEARCH_FILES = 10_000;
  private static final long MAX_SEARCH_BYTES = 64L * 1024 * 1024;

  /**
   * Lines matching {@code query} under {@code prefixes}: at most {@code MAX_SEARCH_HITS} hits, and at
   * most {@value #MAX_SEARCH_FILES} files, 64 MiB and two seconds of reading, whichever comes first.
   */
  public List<SearchHit> search(String query, boolean regex, List<String> prefixes) {
    if (query == null || query.isBlank() || query.length() > 200) {
      throw new MemoryException(MemoryException.Kind.INVALID, "a search query is 1-200 characters");
    }
    Pattern pattern;
    try {
      pattern = regex ? Pattern.compile(query, Pattern.CASE_INSENSITIVE)
        : Pattern.compile(Pattern.quote(query), Pattern.CASE_INSENSITIVE);
    } catch (PatternSyntaxException e) {
      throw new MemoryException(MemoryException.Kind.INVALID, "bad regex: " + e.getDescription());
    }
    List<SearchHit> hits = new ArrayList<>();
    // bounded in time, bytes and files as well as hits: a search must not walk a large memory for ever
    long deadline = System.nanoTime() + SEARCH_BUDGET_NANOS;
    long bytes = 0;
    int files = 0;
    for (FileInfo file : list("")) {
      if (prefixes.stream().noneMatch(p -> p.isEmpty() || new MemoryPath(file.path()).isUnder(p))) {
        continue;
      }
      if (++files > MAX_SEARCH_FILES || (bytes += file.bytes()) > MAX_SEARCH_BYTES || System.nanoTime() > deadline) {
        break;
      }
      String[] lines;
      try {
        lines = read(file.path()).split("\n");
      } catch (MemoryException e) {
        continue;
      }
      for (int i = 0; i < lines.length && hits.size() < MAX_SEARCH_HITS; i++) {
        if (pattern.matcher(lines[i]).find()) {
          String line = lines[i].strip();
          hits.add(new SearchHit(file.path(), i + 1, line.length() > 200 ? line.substring(0, 200) + "..." : line));
        }
      }
      if (hits.size() >= MAX_SEARCH_HITS) {
        break;
      }
    }
    return hits;
  }

  // ---------------------------------------------------------------- paths

  private Path resolveForRead(MemoryPath path) {
    Path file = root.resolve(path.value());
    try {
      Path parent = file.getParent().toRealPath();
      if (!parent.startsWith(root)) {
        throw escape(path);
      }
    } catch (NoSuchFileException e) {
      throw new MemoryException(MemoryException.Kind.NOT_FOUND, "no memory file " + path.value());
    } catch (IOException e) {
      throw new MemoryException(MemoryException.Kind.IO, "cannot read " + path.value());
    }
    if (!knownFile(path.value()) && Files.isSymbolicLink(file)) {
      throw escape(path);
    }
    return file;
  }

  /**
   * Refuses a path that is a folder, or that runs through a file, on disk or among the files and
   * folders this batch will make.
   */
  private void checkNoClash(MemoryPath path, Set<String> plannedFiles, Set<String> plannedDirs) {
    String p = path.value();
    // a file this writer wrote lately, in a folder it made, needs no look at the disk
    boolean onDisk = !knownFile(p);
    if (plannedDirs.contains(p) || onDisk && Files.isDirectory(root.resolve(p), LinkOption.NOFOLLOW_LINKS)) {
      throw new MemoryException(MemoryException.Kind.CONFLICT, p + " is a folder: it cannot also be a file");
    }
    for (int slash = p.indexOf('/'); slash > 0; slash = p.indexOf('/', slash + 1)) {
      String ancestor = p.substring(0, slash);
      if (plannedFiles.contains(ancestor)
        || onDisk && Files.isRegularFile(root.resolve(ancestor), LinkOption.NOFOLLOW_LINKS)) {
        throw new MemoryException(MemoryException.Kind.CONFLICT, p + " runs through the file " + ancestor);
      }
    }
  }

  /** True for a file this writer wrote (and knows the size of) in a folder it checked. */
  private boolean knownFile(String path) {
    return sizes.containsKey(path) && checkedDirs.contains(root.resolve(path).getParent());
  }

  private Path resolveForWrite(MemoryPath path) {
    Path file = root.resolve(path.value());
    Path parent = file.getParent();
    try {
      if (!checkedDirs.contains(parent)) {
        Files.createDirectories(parent);
        if (!parent.toRealPath().startsWith(root) || !parent.toRealPath().equals(parent)) {
          throw escape(path);
        }
        checkedDirs.add(parent);
      }
    } catch (IOException e) {
      throw new MemoryException(MemoryException.Kind.IO, "cannot create the directory of " + path.value());
    }
    if (!knownFile(path.value()) && Files.isSymbolicLink(file)) {
      throw escape(path);
    }
    return file;
  }

  private static MemoryException escape(MemoryPath path) {
    return new MemoryException(MemoryException.Kind.REFUSED, path.value() + " leads out of the memory directory");
  }

  // ---------------------------------------------------------------- recovery

  private void recover(Path state) throws IOException {
    List<Journal.Record> records = new ArrayList<>(Journal.readAndRepair(state.resolve("journal.prev"), log));
    records.addAll(Journal.readAndRepair(state.resolve("journal.cur"), log));
    if (records.isEmpty()) {
      return;
    }
    Map<String, byte[]> before = new LinkedHashMap<>();
    for (Journal.Record r : records) {
      before.computeIfAbsent(r.path(), p -> readBytes(root.resolve(p)));
    }
    int quarantined = 0;
    for (Journal.Record r : records) {
      Path file = root.resolve(r.path());
      try {
        Files.createDirectories(file.getParent());
        if (r.op() == Journal.REPLACE) {
          byte[] current = readBytes(file);
          if (!Arrays.equals(current, r.data())) {
            writeAtomically(file, r.data(), true);
          }
        } else {
          replayAppend(file, r);
        }
      } catch (IOException | RuntimeException e) {
        // one record that cannot be applied must not keep every writer from starting: set it aside
        quarantine(state, r, e, ++quarantined);
        before.remove(r.path());
        continue;
      }
      if (r.writeId() != null) {
        writeIds.put(r.writeId(), new WriteResult(r.path(), r.offset() + r.data().length, false));
      }
    }
    int repaired = 0;
    for (var e : before.entrySet()) {
      Path file = root.resolve(e.getKey());
      if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
        continue;
      }
      byte[] after = readBytes(file);
      try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
        ch.force(true);
      }
      forceDirectory(file.getParent());
      if (!Arrays.equals(e.getValue(), after)) {
        repaired++;
        log.accept(String.format(Locale.ROOT, "memory: repaired %s from the journal (%d bytes before, %d after)",
          e.getKey(), e.getValue() == null ? 0 : e.getValue().length, after.length));
      }
    }
    log.accept("memory: replayed " + records.size() + " journal records over " + before.size() + " files, "
      + repaired + " repaired");
  }

  /**
   * Keeps a journal record recovery could not apply in {@code .agenthub/quarantine/} (as JSON, its
   * data in base64), so nothing is lost and an operator can look at it, and says so in the log.
   */
  private void quarantine(Path state, Journal.Record r, Exception cause, int n) throws IOException {
    Path dir = state.resolve("quarantine");
    Files.createDirectories(dir);
    String name = String.format(Locale.ROOT, "%d-%d-%d.json", System.currentTimeMillis(), r.epoch(), n);
    String json = "{\"path\":" + quote(r.path()) + ",\"op\":\"" + (r.op() == Journal.REPLACE ? "replace" : "append")
      + "\",\"epoch\":" + r.epoch() + ",\"offset\":" + r.offset() + ",\"write_id\":"
      + (r.writeId() == null ? "null" : quote(r.writeId())) + ",\"error\":" + quote(String.valueOf(cause.getMessage()))
      + ",\"data_base64\":\"" + Base64.getEncoder().encodeToString(r.data()) + "\"}\n";
    writeAtomically(dir.resolve(name), json.getBytes(StandardCharsets.UTF_8), true);
    log.accept("memory: quarantined a journal record for " + r.path() + " that could not be applied ("
      + cause.getClass().getSimpleName() + ": " + cause.getMessage() + "): " + STATE_DIR + "/quarantine/" + name);
  }

  private static String quote(String s) {
    StringBuilder sb = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      switch (c) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        default -> {
          if (c < 0x20) {
            sb.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
          } else {
            sb.append(c);
          }
        }
      }
    }
    return sb.append('"').toString();
  }

  /** Makes the file hold {@code data} at {@code offset} and end there, unless it already does. */
  private static void replayAppend(Path file, Journal.Record r) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
      StandardOpenOption.WRITE)) {
      long end = r.offset() + r.data().length;
      if (ch.size() >= end) {
        ByteBuffer existing = ByteBuffer.allocate(r.data().length);
        ch.read(existing, r.offset());
        if (Arrays.equals(existing.array(), r.data())) {
          return;
        }
      }
      ch.truncate(Math.min(ch.size(), r.offset()));
      ByteBuffer data = ByteBuffer.wrap(r.data());
      long pos = r.offset();
      while (data.hasRemaining()) {
        pos += ch.write(data, pos);
      }
    }
  }

  private static byte[] readBytes(Path file) {
    try {
      return Files.exists(file) ? Files.readAllBytes(file) : new byte[0];
    } catch (IOException e) {
      return new byte[0];
    }
  }

  private static long readEpoch(Path file) throws IOException {
    if (!Files.exists(file)) {
      return 0;
    }
    String text = Files.readString(file).trim();
    try {
      return text.isEmpty() ? 0 : Long.parseLong(text);
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  private static void writeEpoch(Path file, long epoch) throws IOException {
    writeAtomically(file, Long.toString(epoch).getBytes(StandardCharsets.UTF_8), true);
  }

  /** Stops accepting writes, finishes the queued ones, forces everything to disk. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    queue.add(STOP);
    try {
      committer.join(TimeUnit.SECONDS.toMillis(30));
      MemoryException gone = new MemoryException(MemoryException.Kind.UNAVAILABLE, "memory store closed");
      for (Op op = queue.poll(); op != null; op = queue.poll()) {
        if (op != STOP) {
          op.result().completeExceptionally(gone);
        }
      }
      flushDirty();
      for (String path : new ArrayList<>(open.keySet())) {
        closeChannel(path);
      }
      journal.close();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (IOException e) {
      log.accept("memory: error while closing: " + e.getMessage());
    }
  }
}
