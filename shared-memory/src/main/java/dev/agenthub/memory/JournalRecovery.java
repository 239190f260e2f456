package dev.agenthub.memory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;

/**
 * A store's repair at open: reads both journal segments (a torn tail is cut), cuts the records of a
 * batch a crash left without its mark (never acknowledged), and replays the rest over the files,
 * so they hold whole entries only; a record that cannot be applied is set aside in
 * {@code .agenthub/quarantine/}. Answers where the journal ends, its batches (for followers that
 * ask for them) and the write ids it holds (so a retried write lands once).
 */
final class JournalRecovery {

  /** What the journal held. */
  record Recovered(MarkdownStore.Position position, List<BatchLog.Batch> batches,
                   Map<String, MarkdownStore.WriteResult> writeIds) {
  }

  private JournalRecovery() {
  }

  /**
   * Replays the journal of the store at {@code root} (state in {@code state}) over its files, and
   * answers where it ends, its batches and the write ids it holds.
   */
  static Recovered run(Path root, Path state, Consumer<String> log) throws IOException {
    MarkdownStore.Position position = MarkdownStore.Position.NONE;
    List<BatchLog.Batch> batches = new ArrayList<>();
    Map<String, MarkdownStore.WriteResult> writeIds = new LinkedHashMap<>();
    List<Journal.Record> records = new ArrayList<>(Journal.readAndRepair(state.resolve("journal.prev"), log));
    int inPrev = records.size();
    List<Journal.Record> cur = Journal.readAndRepair(state.resolve("journal.cur"), log);
    records.addAll(cur);
    int lastMark = -1;
    for (int i = 0; i < records.size(); i++) {
      if (records.get(i).op() == Journal.MARK) {
        lastMark = i;
      }
    }
    if (lastMark >= 0 && lastMark < records.size() - 1) {
      // a batch written up to a crash but not to its mark was never acknowledged: it goes
      long keep = 0;
      for (int i = inPrev; i <= lastMark; i++) {
        keep += Journal.encode(records.get(i)).remaining();
      }
      try (FileChannel ch = FileChannel.open(state.resolve("journal.cur"), StandardOpenOption.WRITE)) {
        ch.truncate(keep);
        ch.force(false);
      }
      log.accept("memory: cut " + (records.size() - 1 - lastMark) + " journal records of a batch a crash left "
        + "unfinished (never acknowledged)");
      records = new ArrayList<>(records.subList(0, lastMark + 1));
    }
    if (records.isEmpty()) {
      return new Recovered(position, batches, writeIds);
    }
    Map<String, byte[]> before = new LinkedHashMap<>();
    for (Journal.Record r : records) {
      if (r.op() == Journal.APPEND || r.op() == Journal.REPLACE) {
        before.computeIfAbsent(r.path(), p -> readBytes(root.resolve(p)));
      }
    }
    int quarantined = 0;
    int batchStart = 0;
    for (int i = 0; i < records.size(); i++) {
      Journal.Record r = records.get(i);
      if (r.op() == Journal.MARK) {
        position = new MarkdownStore.Position(r.epoch(), r.offset());
        batches.add(new BatchLog.Batch(r.epoch(), r.offset(), Journal.encodeAll(records.subList(batchStart, i + 1))));
        batchStart = i + 1;
        continue;
      }
      if (r.op() == Journal.WRITE_ID) {
        writeIds.put(r.writeId(), new MarkdownStore.WriteResult(r.path(), r.offset(), false));
        continue;
      }
      Path file = root.resolve(r.path());
      try {
        Files.createDirectories(file.getParent());
        if (r.op() == Journal.REPLACE) {
          byte[] current = readBytes(file);
          if (!Arrays.equals(current, r.data())) {
            MarkdownStore.writeAtomically(file, r.data(), true);
          }
        } else {
          replayAppend(file, r);
        }
      } catch (IOException | RuntimeException e) {
        // one record that cannot be applied must not keep every writer from starting: set it aside
        quarantine(state, r, e, ++quarantined, log);
        before.remove(r.path());
        continue;
      }
      if (r.writeId() != null) {
        writeIds.put(r.writeId(), new MarkdownStore.WriteResult(r.path(), r.offset() + r.data().length, false));
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
      MarkdownStore.forceDirectory(file.getParent());
      if (!Arrays.equals(e.getValue(), after)) {
        repaired++;
        log.accept(String.format(Locale.ROOT, "memory: repaired %s from the journal (%d bytes before, %d after)",
          e.getKey(), e.getValue() == null ? 0 : e.getValue().length, after.length));
      }
    }
    log.accept("memory: replayed " + records.size() + " journal records over " + before.size() + " files, "
      + repaired + " repaired");
    return new Recovered(position, batches, writeIds);
  }

  /**
   * Keeps a journal record recovery could not apply in {@code .agenthub/quarantine/} (as JSON, its
   * data in base64), so nothing is lost and an operator can look at it, and says so in the log.
   */
  private static void quarantine(Path state, Journal.Record r, Exception cause, int n, Consumer<String> log)
    throws IOException {
    Path dir = state.resolve("quarantine");
    Files.createDirectories(dir);
    String name = String.format(Locale.ROOT, "%d-%d-%d.json", System.currentTimeMillis(), r.epoch(), n);
    String json = "{\"path\":" + quote(r.path()) + ",\"op\":\"" + (r.op() == Journal.REPLACE ? "replace" : "append")
      + "\",\"epoch\":" + r.epoch() + ",\"offset\":" + r.offset() + ",\"write_id\":"
      + (r.writeId() == null ? "null" : quote(r.writeId())) + ",\"error\":" + quote(String.valueOf(cause.getMessage()))
      + ",\"data_base64\":\"" + Base64.getEncoder().encodeToString(r.data()) + "\"}\n";
    MarkdownStore.writeAtomically(dir.resolve(name), json.getBytes(StandardCharsets.UTF_8), true);
    log.accept("memory: quarantined a journal record for " + r.path() + " that could not be applied ("
      + cause.getClass().getSimpleName() + ": " + cause.getMessage() + "): " + MemoryLayout.STATE_DIR + "/quarantine/" + name);
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
}
