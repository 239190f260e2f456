package dev.agenthub.memory;

import dev.agenthub.protocol.Failure;

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
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * The Markdown memory directory, plain Java. Reads run on the caller's thread; every write goes
 * through one committer thread that batches them: the batch is framed into the {@link Journal} and
 * forced to disk with one fsync, then applied to the Markdown files, then acknowledged. A crash at
 * any point is repaired at the next {@link #open} by replaying the journal, so files only ever hold
 * whole entries. The caller must hold the directory's lock ({@link DirectoryLock}).
 */
public final class MarkdownStore implements AutoCloseable {

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
    /** The journal's size that triggers a checkpoint, unless a node says otherwise. */
    public static final long JOURNAL_SEGMENT_BYTES = 16L * 1024 * 1024;

    public static Options defaults() {
      return new Options(true, 64 * 1024, 8L * 1024 * 1024, JOURNAL_SEGMENT_BYTES, 256 * 1024);
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

  /** Where a store's journal ends: the epoch and sequence number of its last batch ({@code 0, 0}: none). */
  public record Position(long epoch, long seq) implements Comparable<Position> {
    public static final Position NONE = new Position(0, 0);

    @Override
    public int compareTo(Position o) {
      return epoch != o.epoch ? Long.compare(epoch, o.epoch) : Long.compare(seq, o.seq);
    }
  }

  /**
   * Sends a batch to the followers. Called on the committer thread, before the batch is forced
   * locally; the committer waits for the answer before it applies and acknowledges the batch. The
   * future fails with {@link Failure.Kind#STALE_WRITER} once a newer writer is known.
   */
  public interface Replicator {
    CompletableFuture<Void> replicate(long epoch, long seq, byte[] frames);
  }

  /** Work done on the committer thread, in order with the writes. */
  private interface Task {
    WriteResult run() throws IOException;
  }

  private record Op(byte kind, MemoryPath path, byte[] data, String writeId, CompletableFuture<WriteResult> result,
                    Task task) {
    Op(byte kind, MemoryPath path, byte[] data, String writeId, CompletableFuture<WriteResult> result) {
      this(kind, path, data, writeId, result, null);
    }
  }

  // wakes the committer at close
  private static final Op STOP = new Op((byte) 0, null, null, null, null);
  // a place in the queue, completed once the writes before it are applied
  private static final byte BARRIER = (byte) 0x7f;
  private static final byte TASK = (byte) 0x7e;
  /** Recent batches kept in memory for followers that fall a little behind. */
  private static final long RECENT_BYTES = 64L * 1024 * 1024;
  private static final int MAX_BATCH = 4096;
  private static final int MAX_OPEN_FILES = 256;
  private static final int MAX_KNOWN_SIZES = 65_536;
  // files forced per idle moment of the committer, so a burst of writes that follows waits little
  private static final int IDLE_FORCES = 64;
  private static final int MAX_WRITE_IDS = 200_000;
  private static final Pattern AUTHOR = Pattern.compile("[A-Za-z0-9_.@:-][A-Za-z0-9 _.@:-]{0,63}");
  private static final Pattern HEADING_LINE = Pattern.compile("(?m)^(#{1,2} )");

  private final Path root;
  private final MarkdownReads reads;
  private final Options options;
  private final Consumer<String> log;
  private final Journal journal;
  // the writer's epoch while this store writes (0 while it follows); the highest epoch this node
  // promised (or wrote in) is in epochFile and in promised
  private volatile long epoch;
  private volatile long promised;
  private volatile boolean leading;
  private volatile Replicator replicator;
  // the last batch in the journal, and the last one applied to the files (committer thread writes)
  private volatile Position position = Position.NONE;
  private volatile Position applied = Position.NONE;
  private final BatchLog recent = new BatchLog(RECENT_BYTES);
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
  // write ids a snapshot carries, journaled when it is finished
  private final List<Journal.Record> pendingIds = new ArrayList<>();
  private volatile boolean closed;
  private volatile Failure fenced;

  private MarkdownStore(Path root, Options options, Consumer<String> log, long epoch, boolean lead) throws IOException {
    this.root = root;
    this.reads = new MarkdownReads(root);
    this.options = options;
    this.log = log;
    Path state = root.resolve(MemoryLayout.STATE_DIR);
    Files.createDirectories(state);
    this.epochFile = state.resolve("epoch");
    long previous = readEpoch(epochFile);
    recover(state);
    if (lead) {
      this.epoch = Math.max(epoch, previous + 1);
      this.promised = this.epoch;
      this.leading = true;
      writeEpoch(epochFile, this.epoch);
    } else {
      this.promised = previous;
    }
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
    checkBounds(options);
    Files.createDirectories(dir);
    return new MarkdownStore(dir.toRealPath(), options, log, epoch, true);
  }

  /**
   * Opens the store as a replica (its own directory, repaired like {@link #open}) that takes no
   * writes of its own: it applies the batches of a writer ({@link #follow}) until it is made the
   * writer ({@link #lead}).
   */
  public static MarkdownStore openReplica(Path dir, Options options, Consumer<String> log) throws IOException {
    checkBounds(options);
    Files.createDirectories(dir);
    return new MarkdownStore(dir.toRealPath(), options, log, 0, false);
  }

  private static void checkBounds(Options options) {
    if (options.maxFileBytes() > MAX_FILE_BYTES || options.maxEntryBytes() > MAX_FILE_BYTES) {
      throw new IllegalArgumentException("files and entries are at most " + MAX_FILE_BYTES
        + " bytes: a whole file must fit one journal record");
    }
  }

  public Path root() {
    return root;
  }

  public long epoch() {
    return epoch;
  }

  /** True while this store takes writes. */
  public boolean leading() {
    return leading && fenced == null;
  }

  /** The last batch in this store's journal. */
  public Position position() {
    return position;
  }

  /** The last batch applied to this store's files: what a read sees. */
  public Position applied() {
    return applied;
  }

  /** The highest epoch this store promised to follow (or wrote in). */
  public long promised() {
    return promised;
  }

  // ---------------------------------------------------------------- writes

  /** Appends an entry {@code ## <ISO time> <author>} with {@code text}; completes once it is durable. */
  public CompletableFuture<WriteResult> append(String path, String author, String text, String writeId) {
    try {
      MemoryPath p = MemoryPath.of(path);
      if (author == null || !AUTHOR.matcher(author).matches()) {
        throw new Failure(Failure.Kind.BAD_REQUEST,
          "author must be 1-64 of letters, digits, space, _ . @ : -");
      }
      if (text == null || text.isBlank()) {
        throw new Failure(Failure.Kind.BAD_REQUEST, "an entry needs some text");
      }
      refuseNul(text);
      byte[] entry = entry(author, text).getBytes(StandardCharsets.UTF_8);
      if (entry.length > options.maxEntryBytes()) {
        throw new Failure(Failure.Kind.TOO_LARGE, "entry of " + entry.length + " bytes is over the "
          + options.maxEntryBytes() + "-byte limit");
      }
      return submit(new Op(Journal.APPEND, p, entry, writeId, new CompletableFuture<>()));
    } catch (Failure e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /** Replaces a whole file atomically; completes once it is durable. */
  public CompletableFuture<WriteResult> replace(String path, String content, String writeId) {
    try {
      MemoryPath p = MemoryPath.of(path);
      if (content != null) {
        refuseNul(content);
      }
      byte[] data = (content == null ? "" : content).getBytes(StandardCharsets.UTF_8);
      if (data.length > options.maxFileBytes()) {
        throw new Failure(Failure.Kind.TOO_LARGE, "file of " + data.length + " bytes is over the "
          + options.maxFileBytes() + "-byte limit");
      }
      return submit(new Op(Journal.REPLACE, p, data, writeId, new CompletableFuture<>()));
    } catch (Failure e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /** Memory is Markdown text: a NUL (U+0000) is no part of it, and tools that read the files stop at one. */
  private static void refuseNul(String text) {
    if (text.indexOf('\0') >= 0) {
      throw new Failure(Failure.Kind.BAD_REQUEST, "the text contains a NUL character (U+0000), which "
        + "memory files may not hold");
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
    if (fenced != null && op.kind() != TASK) {
      return CompletableFuture.failedFuture(fenced);
    }
    if (closed) {
      return CompletableFuture.failedFuture(new Failure(Failure.Kind.UNAVAILABLE, "memory store closed"));
    }
    if (!leading && (op.kind() == Journal.APPEND || op.kind() == Journal.REPLACE)) {
      return CompletableFuture.failedFuture(new Failure(Failure.Kind.UNAVAILABLE,
        "this memory node follows the writer: it takes no writes of its own"));
    }
    queue.add(op);
    return op.result();
  }

  private CompletableFuture<WriteResult> task(Task task) {
    return submit(new Op(TASK, null, null, null, new CompletableFuture<>(), task));
  }

  private void commitLoop() {
    List<Op> drained = new ArrayList<>();
    List<Op> batch = new ArrayList<>();
    while (!closed || !queue.isEmpty()) {
      try {
        Op first = queue.poll(1, TimeUnit.SECONDS);
        if (first == null) {
          flushDirty();
          continue;
        }
        drained.add(first);
        queue.drainTo(drained, MAX_BATCH - 1);
        drained.removeIf(op -> op == STOP);
        // writes are batched up to the next task; a task runs alone, in its place
        for (Op op : drained) {
          if (op.kind() != TASK) {
            batch.add(op);
            continue;
          }
          commitOrFail(batch);
          runTask(op);
        }
        commitOrFail(batch);
        if (queue.isEmpty()) {
          forceUnsynced(IDLE_FORCES);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      } catch (Exception e) {
        log.accept("memory: committer failed: " + e);
      } finally {
        drained.clear();
      }
    }
  }

  private void commitOrFail(List<Op> batch) {
    if (batch.isEmpty()) {
      return;
    }
    try {
      commit(batch);
    } catch (Failure e) {
      batch.forEach(op -> op.result().completeExceptionally(e));
    } catch (Exception e) {
      Failure failure = new Failure(Failure.Kind.INTERNAL, "memory write failed: "
        + e.getClass().getSimpleName());
      log.accept("memory: write batch failed: " + e);
      batch.forEach(op -> op.result().completeExceptionally(failure));
    } finally {
      batch.clear();
    }
  }

  private void runTask(Op op) {
    try {
      op.result().complete(op.task().run());
    } catch (Failure e) {
      op.result().completeExceptionally(e);
    } catch (Exception e) {
      log.accept("memory: replica task failed: " + e);
      op.result().completeExceptionally(new Failure(Failure.Kind.INTERNAL, "memory replica operation failed: "
        + e.getClass().getSimpleName()));
    }
  }

  private void commit(List<Op> batch) throws IOException {
    if (leading) {
      checkFence();
    }
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
          throw new Failure(Failure.Kind.TOO_LARGE, path + " would grow past the "
            + options.maxFileBytes() + "-byte limit");
        }
        planned.put(path, after);
        for (int slash = path.indexOf('/'); slash > 0; slash = path.indexOf('/', slash + 1)) {
          plannedDirs.add(path.substring(0, slash));
        }
        records.add(new Journal.Record(op.kind(), epoch, path, offset, op.writeId(), op.data()));
        accepted.add(op);
      } catch (Failure e) {
        op.result().completeExceptionally(e);
      }
    }
    if (records.isEmpty()) {
      barriers.forEach(b -> b.result().complete(null));
      return;
    }
    writeBatch(records);
    Set<String> oversize = new HashSet<>();
    for (int i = 0; i < records.size(); i++) {
      Journal.Record r = records.get(i);
      apply(r);
      long bytes = r.offset() + r.data().length;
      WriteResult result = new WriteResult(r.path(), bytes, false);
      if (r.writeId() != null) {
        rememberId(r.writeId(), result);
      }
      accepted.get(i).result().complete(result);
      if (r.op() == Journal.APPEND && options.transcriptMaxBytes() > 0 && bytes > options.transcriptMaxBytes()
        && MemoryLayout.transcriptAt(r.path()) != null) {
        oversize.add(r.path());
      }
    }
    markApplied();
    for (String path : oversize) {
      compact(path);
    }
    barriers.forEach(b -> b.result().complete(null));
    if (journal.size() > options.journalSegmentBytes()) {
      checkpoint();
    }
  }

  /**
   * Frames {@code records} as the next batch, sends it to the followers (when replicated), forces it
   * to the journal and waits until enough followers have it: then it may be applied and
   * acknowledged. Fails (the batch unapplied, its writes unacknowledged) once this writer is fenced.
   */
  private void writeBatch(List<Journal.Record> records) throws IOException {
    long seq = position.seq() + 1;
    List<Journal.Record> framed = new ArrayList<>(records.size() + 1);
    framed.addAll(records);
    framed.add(Journal.Record.mark(epoch, seq));
    byte[] frames = Journal.encodeAll(framed);
    Replicator r = replicator;
    // in the log first: a follower that asks for it now must be able to get it
    recent.add(new BatchLog.Batch(epoch, seq, frames));
    CompletableFuture<Void> replicated = r == null ? null : r.replicate(epoch, seq, frames);
    try {
      journal.write(ByteBuffer.wrap(frames));
      if (options.fsync()) {
        journal.force();
      }
    } catch (IOException e) {
      // what reached the disk is unknown (a failed fsync may have lost it): write no more on it
      fence("the journal could not be written (" + e.getMessage() + "): this writer stops");
      throw e;
    }
    position = new Position(epoch, seq);
    if (records.isEmpty()) {
      // a batch that changes no file (a new writer's first): the files are as of it already, so a
      // snapshot taken now may start after it
      applied = position;
    }
    if (replicated != null) {
      awaitFollowers(replicated, seq);
    }
  }

  private void awaitFollowers(CompletableFuture<Void> replicated, long seq) throws IOException {
    long warnAt = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (true) {
      try {
        replicated.get(200, TimeUnit.MILLISECONDS);
        return;
      } catch (TimeoutException e) {
        checkFence();
        if (fenced != null) {
          throw fenced;
        }
        if (closed) {
          throw new Failure(Failure.Kind.UNAVAILABLE, "memory store closed");
        }
        if (System.nanoTime() > warnAt) {
          log.accept("memory: batch " + seq + " waits for enough followers to have it (writes are held)");
          warnAt = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        }
      } catch (ExecutionException e) {
        // a batch in the log that is not applied cannot be built on: this writer stops either way
        // (it steps down, reopens as a replica and catches up from whoever writes next)
        fence(e.getCause() instanceof Failure me && me.kind() == Failure.Kind.STALE_WRITER
          ? me.getMessage() : "memory replication failed (" + e.getCause().getMessage() + "): this writer stops");
        throw fenced;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new Failure(Failure.Kind.UNAVAILABLE, "memory store closed");
      }
    }
  }

  private void markApplied() {
    applied = position;
  }

  private void fence(String why) {
    if (fenced == null) {
      fenced = new Failure(Failure.Kind.UNAVAILABLE, why);
      log.accept("memory: " + why);
    }
  }

  /**
   * Moves the older turns of a transcript into its next archive beside it
   * ({@link MemoryLayout.TranscriptFile#archive}) and leaves the newest ones (half the limit) under
   * a short header. Runs on the committer thread, between
   * batches, so no append can slip in between the read and the two replaces.
   */
  private void compact(String path) throws IOException {
    MemoryLayout.TranscriptFile transcript = MemoryLayout.transcriptAt(path);
    if (transcript == null) {
      return;
    }
    String session = transcript.session();
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
    while (Files.exists(root.resolve(transcript.archive(n)))) {
      n++;
    }
    String archivePath = transcript.archive(n);
    StringBuilder archive = new StringBuilder("# Session " + session + ", archive " + n + "\n\n");
    entries.subList(0, keepFrom).forEach(archive::append);
    StringBuilder rest = new StringBuilder("# Session " + session + "\n\nOlder turns: " + transcript.archiveLink(1)
      + (n > 1 ? " to " + transcript.archiveLink(n) : "") + "\n\n");
    entries.subList(keepFrom, entries.size()).forEach(rest::append);
    resolveForWrite(MemoryPath.of(archivePath));
    List<Journal.Record> records = List.of(
      new Journal.Record(Journal.REPLACE, epoch, archivePath, 0, null, archive.toString().getBytes(StandardCharsets.UTF_8)),
      new Journal.Record(Journal.REPLACE, epoch, path, 0, null, rest.toString().getBytes(StandardCharsets.UTF_8)));
    writeBatch(records);
    for (Journal.Record r : records) {
      apply(r);
    }
    markApplied();
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
    // a replica's own directory changes epoch only through promise(), which sets promised; a shared
    // directory may be taken over by another process, whose epoch only the file shows
    long current = replicator != null ? promised : Math.max(promised, readEpoch(epochFile));
    if (current != epoch && fenced == null) {
      fence("this memory writer (epoch " + epoch + ") was replaced by epoch " + current + "; it no longer writes");
    }
  }

  // ---------------------------------------------------------------- replication

  /**
   * Promises to follow no writer older than {@code epoch} (written to disk before it answers) and
   * answers where this store's journal ends. A store that was writing in an older epoch stops: it is
   * fenced, its unacknowledged batch fails.
   */
  public synchronized Position promise(long epoch) throws IOException {
    if (epoch > promised) {
      writeEpoch(epochFile, epoch);
      promised = epoch;
    }
    return position;
  }

  /**
   * Makes this replica the writer in {@code epoch} (promised before), sending its batches through
   * {@code replicator}. Its first batch is empty: it completes once enough followers hold everything
   * this store holds, so batches of earlier writers that it kept are acknowledged with it.
   */
  public CompletableFuture<Position> lead(long epoch, Replicator replicator) {
    return task(() -> {
      if (epoch < promised) {
        throw new Failure(Failure.Kind.STALE_WRITER, "epoch " + epoch + " is older than epoch "
          + promised + ", which this node promised to follow");
      }
      promise(epoch);
      this.epoch = epoch;
      this.replicator = replicator;
      this.fenced = null;
      this.leading = true;
      writeBatch(List.of());
      markApplied();
      return null;
    }).thenApply(r -> position);
  }

  /**
   * Applies a batch of the writer of {@code epoch} (its journal frames, the closing mark last):
   * forced to this store's journal, then applied to its files, which stay byte-identical to the
   * writer's. A batch this store already has is answered again; one that does not follow its last
   * batch fails {@link Failure.Kind#OUT_OF_ORDER}; one of an older writer than it promised to
   * follow fails {@link Failure.Kind#STALE_WRITER}.
   */
  public CompletableFuture<Position> follow(long epoch, long seq, byte[] frames) {
    return task(() -> {
      followBatch(epoch, seq, frames);
      return null;
    }).thenApply(r -> position);
  }

  /**
   * Applies every batch framed in {@code frames} (as {@link #tail} answered them), in order, sent by
   * the writer of {@code writerEpoch}. The batches may be of older epochs (written before that
   * writer took over, and kept by it): what is checked against the epoch this store promised is
   * the writer that sends them, not the epoch each was first written in, or a copy that promised a
   * new writer could never take the older batches it lacks from it.
   */
  public CompletableFuture<Position> followAll(long writerEpoch, byte[] frames) {
    return task(() -> {
      if (writerEpoch < promised) {
        throw new Failure(Failure.Kind.STALE_WRITER, "batches from the writer of epoch " + writerEpoch
          + " after this node promised to follow epoch " + promised);
      }
      List<Journal.Record> records;
      try {
        records = Journal.decodeAll(frames);
      } catch (IllegalArgumentException e) {
        throw new Failure(Failure.Kind.BAD_REQUEST, "replicated batches are damaged: " + e.getMessage());
      }
      int from = 0;
      for (int i = 0; i < records.size(); i++) {
        Journal.Record r = records.get(i);
        if (r.op() == Journal.MARK) {
          if (r.epoch() > writerEpoch) {
            throw new Failure(Failure.Kind.BAD_REQUEST, "a batch of epoch " + r.epoch()
              + " from the writer of epoch " + writerEpoch);
          }
          List<Journal.Record> one = records.subList(from, i + 1);
          followBatch(r.epoch(), r.offset(), Journal.encodeAll(one), writerEpoch);
          from = i + 1;
        }
      }
      if (writerEpoch > promised) {
        promise(writerEpoch);
      }
      return null;
    }).thenApply(r -> position);
  }

  private void followBatch(long batchEpoch, long seq, byte[] frames) throws IOException {
    followBatch(batchEpoch, seq, frames, batchEpoch);
  }

  private void followBatch(long batchEpoch, long seq, byte[] frames, long writerEpoch) throws IOException {
    if (leading && fenced == null) {
      if (batchEpoch > epoch) {
        // a newer writer exists and this one had not noticed: it stops, and catches up later
        fence("writer of epoch " + batchEpoch + " sends batches: this writer (epoch " + epoch + ") no longer writes");
        throw new Failure(Failure.Kind.OUT_OF_ORDER, "this node was writing until now: it catches up first");
      }
      throw new Failure(Failure.Kind.STALE_WRITER, "this node is the memory writer (epoch " + epoch
        + ")");
    }
    if (writerEpoch < promised) {
      throw new Failure(Failure.Kind.STALE_WRITER, "a batch of epoch " + batchEpoch
        + " after this node promised to follow epoch " + promised);
    }
    Position at = position;
    if (seq <= at.seq()) {
      if (recent.epochOf(seq).map(e -> e == batchEpoch).orElse(false)) {
        return; // sent again: this store has it
      }
      throw new Failure(Failure.Kind.OUT_OF_ORDER, "batch " + seq + " of epoch " + batchEpoch
        + " differs from this node's: it needs a snapshot");
    }
    if (seq != at.seq() + 1) {
      throw new Failure(Failure.Kind.OUT_OF_ORDER, "batch " + seq + " does not follow batch "
        + at.seq());
    }
    List<Journal.Record> records;
    try {
      records = Journal.decodeAll(frames);
    } catch (IllegalArgumentException e) {
      throw new Failure(Failure.Kind.BAD_REQUEST, "a replicated batch is damaged: " + e.getMessage());
    }
    Journal.Record mark = records.isEmpty() ? null : records.get(records.size() - 1);
    if (mark == null || mark.op() != Journal.MARK || mark.epoch() != batchEpoch || mark.offset() != seq) {
      throw new Failure(Failure.Kind.BAD_REQUEST, "a replicated batch does not end with its own mark");
    }
    if (batchEpoch > promised) {
      promise(batchEpoch);
    }
    journal.write(ByteBuffer.wrap(frames));
    if (options.fsync()) {
      journal.force();
    }
    position = new Position(batchEpoch, seq);
    recent.add(new BatchLog.Batch(batchEpoch, seq, frames));
    for (Journal.Record r : records) {
      if (r.op() == Journal.APPEND || r.op() == Journal.REPLACE) {
        resolveForWrite(MemoryPath.of(r.path()));
        apply(r);
        if (r.writeId() != null) {
          rememberId(r.writeId(), new WriteResult(r.path(), r.offset() + r.data().length, false));
        }
      }
    }
    markApplied();
    if (journal.size() > options.journalSegmentBytes()) {
      checkpoint();
    }
  }

  /**
   * The batches after {@code (epoch, seq)} as journal frames, up to about {@code limit} bytes; empty
   * when this store no longer holds that batch in memory, or holds another one under its number: the
   * asker needs a snapshot ({@link #snapshot}). An empty array: the asker has everything.
   */
  public Optional<byte[]> tail(long epoch, long seq, long limit) {
    return recent.after(epoch, seq, limit);
  }

  /** One part of a snapshot: files as REPLACE frames, where the next part starts, and where it started. */
  public record SnapshotPart(byte[] frames, String next, Position from) {
  }

  /**
   * The files after {@code cursor} (path order; "" = from the start), up to about {@code limit} bytes,
   * as REPLACE frames; the last part ({@code next == null}) also carries the write ids this store
   * knows. Read without stopping the writes: a file may be caught mid-write, which is why the
   * follower then applies every batch after {@code from} (the batch applied when the first part was
   * read) over them: each batch sets the bytes it wrote whatever was there.
   */
  public CompletableFuture<SnapshotPart> snapshot(String cursor, long limit) {
    Position from = applied;
    List<Journal.Record> records = new ArrayList<>();
    long size = 0;
    String next = null;
    try {
      for (FileInfo f : list("")) {
        if (f.path().compareTo(cursor) <= 0) {
          continue;
        }
        if (size > 0 && size + f.bytes() > limit) {
          next = records.get(records.size() - 1).path();
          break;
        }
        byte[] data;
        try {
          data = Files.readAllBytes(root.resolve(f.path()));
        } catch (NoSuchFileException gone) {
          continue;
        }
        records.add(new Journal.Record(Journal.REPLACE, 0, f.path(), 0, null, data));
        size += data.length;
      }
    } catch (IOException e) {
      return CompletableFuture.failedFuture(new Failure(Failure.Kind.INTERNAL, "cannot read the memory "
        + "directory for a snapshot"));
    }
    if (next == null) {
      synchronized (writeIds) {
        writeIds.forEach((id, r) -> records.add(new Journal.Record(Journal.WRITE_ID, 0, r.path(), r.bytes(), id,
          new byte[0])));
      }
    }
    return CompletableFuture.completedFuture(new SnapshotPart(Journal.encodeAll(records), next, from));
  }

  /** Notes a write id and its result; the committer's, but a snapshot copies them from another thread. */
  private void rememberId(String id, WriteResult result) {
    synchronized (writeIds) {
      writeIds.put(id, result);
    }
  }

  /** Starts installing a snapshot: every file and the journal go; until it is finished, this store is empty. */
  public CompletableFuture<Void> beginSnapshot() {
    return task(() -> {
      if (leading && fenced == null) {
        throw new Failure(Failure.Kind.STALE_WRITER, "this node is the memory writer");
      }
      for (String path : new ArrayList<>(open.keySet())) {
        closeChannel(path);
      }
      dirty.clear();
      unsynced.clear();
      sizes.clear();
      checkedDirs.clear();
      synchronized (writeIds) {
        writeIds.clear();
      }
      pendingIds.clear();
      journal.reset();
      recent.clear();
      position = Position.NONE;
      applied = Position.NONE;
      wipe();
      return null;
    }).thenApply(r -> null);
  }

  /** Deletes every file and folder of the memory (not the store's own state). */
  private void wipe() throws IOException {
    List<Path> all = new ArrayList<>();
    try (DirectoryStream<Path> top = Files.newDirectoryStream(root)) {
      for (Path entry : top) {
        if (!entry.getFileName().toString().equals(MemoryLayout.STATE_DIR)) {
          try (var walk = Files.walk(entry)) {
            walk.forEach(all::add);
          }
        }
      }
    }
    all.sort(Comparator.reverseOrder());
    for (Path p : all) {
      Files.deleteIfExists(p);
    }
  }

  /** Writes one part of a snapshot ({@link SnapshotPart#frames}). */
  public CompletableFuture<Void> installSnapshot(byte[] frames) {
    return task(() -> {
      for (Journal.Record r : Journal.decodeAll(frames)) {
        if (r.op() == Journal.REPLACE) {
          resolveForWrite(MemoryPath.of(r.path()));
          writeAtomically(root.resolve(r.path()), r.data(), options.fsync());
          sizes.put(r.path(), (long) r.data().length);
        } else if (r.op() == Journal.WRITE_ID) {
          pendingIds.add(r);
        }
      }
      return null;
    }).thenApply(r -> null);
  }

  /**
   * Ends a snapshot taken at {@code from}: the write ids it carried and a mark of {@code from} are
   * journaled, so a restart finds both; the batches after it are then followed as usual.
   */
  public CompletableFuture<Position> finishSnapshot(Position from) {
    return task(() -> {
      List<Journal.Record> records = new ArrayList<>(pendingIds);
      records.add(Journal.Record.mark(from.epoch(), from.seq()));
      byte[] frames = Journal.encodeAll(records);
      journal.write(ByteBuffer.wrap(frames));
      journal.force();
      for (Journal.Record r : pendingIds) {
        rememberId(r.writeId(), new WriteResult(r.path(), r.offset(), false));
      }
      pendingIds.clear();
      if (from.epoch() > promised) {
        promise(from.epoch());
      }
      position = from;
      applied = from;
      recent.add(new BatchLog.Batch(from.epoch(), from.seq(), new byte[0]));
      return null;
    }).thenApply(r -> position);
  }

  // ---------------------------------------------------------------- reads

  /** The whole file. */
  public String read(String path) {
    return reads.read(path);
  }

  /** The {@code ## } section whose heading starts with {@code heading}, up to the next {@code ## }. */
  public String readSection(String path, String heading) {
    return reads.readSection(path, heading);
  }

  /** Files whose path starts with {@code prefix} (empty: all), with sizes, sorted by path. */
  public List<FileInfo> list(String prefix) {
    return reads.list(prefix);
  }

  /** Lines matching {@code query} under {@code prefixes}, bounded ({@link MarkdownReads#search}). */
  public List<SearchHit> search(String query, boolean regex, List<String> prefixes) {
    return reads.search(query, regex, prefixes);
  }

  // ---------------------------------------------------------------- paths

  /**
   * Refuses a path that is a folder, or that runs through a file, on disk or among the files and
   * folders this batch will make.
   */
  private void checkNoClash(MemoryPath path, Set<String> plannedFiles, Set<String> plannedDirs) {
    String p = path.value();
    // a file this writer wrote lately, in a folder it made, needs no look at the disk
    boolean onDisk = !knownFile(p);
    if (plannedDirs.contains(p) || onDisk && Files.isDirectory(root.resolve(p), LinkOption.NOFOLLOW_LINKS)) {
      throw new Failure(Failure.Kind.CONFLICT, p + " is a folder: it cannot also be a file");
    }
    for (int slash = p.indexOf('/'); slash > 0; slash = p.indexOf('/', slash + 1)) {
      String ancestor = p.substring(0, slash);
      if (plannedFiles.contains(ancestor)
        || onDisk && Files.isRegularFile(root.resolve(ancestor), LinkOption.NOFOLLOW_LINKS)) {
        throw new Failure(Failure.Kind.CONFLICT, p + " runs through the file " + ancestor);
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
      throw new Failure(Failure.Kind.INTERNAL, "cannot create the directory of " + path.value());
    }
    if (!knownFile(path.value()) && Files.isSymbolicLink(file)) {
      throw escape(path);
    }
    return file;
  }

  private static Failure escape(MemoryPath path) {
    return new Failure(Failure.Kind.FORBIDDEN, path.value() + " leads out of the memory directory");
  }

  // ---------------------------------------------------------------- recovery

  private void recover(Path state) throws IOException {
    JournalRecovery.Recovered found = JournalRecovery.run(root, state, log);
    found.batches().forEach(recent::add);
    found.writeIds().forEach(this::rememberId);
    position = found.position();
    applied = position;
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
      Failure gone = new Failure(Failure.Kind.UNAVAILABLE, "memory store closed");
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
