package dev.agenthub.governor.ledger;

import io.vertx.core.json.JsonObject;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.YearMonth;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.logging.Logger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A node's ledger journal on disk: one JSON line per model call in {@code <dir>/<node>.<YYYY-MM>.jsonl},
 * a file per month (the month in the budgets' time zone), so old months can be dropped by age
 * ({@code ledger.retention-months}). Blocking file I/O: the ledger verticle calls it off the event
 * loop, one call at a time, in order. Journals of the layout before monthly files
 * ({@code <node>.jsonl}) are read too.
 */
final class LedgerJournal implements AutoCloseable {

  private static final Logger LOG = Logger.getLogger(LedgerJournal.class.getName());
  // <node>.<YYYY-MM>.jsonl, or <node>.jsonl (before journals were rolled by month)
  private static final Pattern FILE = Pattern.compile("(.+?)(?:\\.(\\d{4}-\\d{2}))?\\.jsonl");

  private final Path dir;
  private final String node;
  private final int retentionMonths;
  private String month;
  private FileChannel channel;
  private BufferedWriter writer;
  private boolean unforced;

  LedgerJournal(Path dir, String node, int retentionMonths) {
    this.dir = dir;
    this.node = node;
    this.retentionMonths = retentionMonths;
  }

  /**
   * {@code month}'s lines of every journal in the directory, by the node that wrote them: this
   * node's, other nodes', and those of nodes gone for good (pods renamed by a full restart). A line
   * cut by a crash is skipped: the call it describes was never answered.
   */
  Map<String, List<JsonObject>> read(String month) throws IOException {
    Files.createDirectories(dir);
    Map<String, List<JsonObject>> out = new LinkedHashMap<>();
    try (var files = Files.newDirectoryStream(dir, "*.jsonl")) {
      for (Path file : files) {
        Matcher m = FILE.matcher(file.getFileName().toString());
        if (!m.matches() || (m.group(2) != null && !m.group(2).equals(month))) {
          continue;
        }
        List<JsonObject> lines = out.computeIfAbsent(m.group(1), k -> new ArrayList<>());
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
          try {
            JsonObject e = new JsonObject(line);
            if (month.equals(e.getString("month"))) {
              lines.add(e);
            }
          } catch (RuntimeException torn) {
            // a line cut by a crash
          }
        }
      }
    }
    return out;
  }

  /** Appends a line to {@code month}'s file (opening it, and closing the last month's), handed to the OS. */
  void append(String month, String line) throws IOException {
    if (!month.equals(this.month)) {
      roll(month);
    }
    writer.write(line);
    writer.newLine();
    writer.flush();
    unforced = true;
  }

  /** Forces what was appended to disk (every few seconds, and at close). */
  void force() throws IOException {
    if (unforced && channel != null) {
      unforced = false;
      channel.force(false);
    }
  }

  private void roll(String next) throws IOException {
    close();
    Files.createDirectories(dir);
    channel = FileChannel.open(dir.resolve(node + "." + next + ".jsonl"), StandardOpenOption.CREATE,
      StandardOpenOption.APPEND, StandardOpenOption.WRITE);
    writer = new BufferedWriter(Channels.newWriter(channel, StandardCharsets.UTF_8));
    month = next;
    prune(dir, YearMonth.parse(next), retentionMonths);
  }

  /** Deletes monthly journals older than {@code retentionMonths} before {@code now} (0 keeps all). */
  static void prune(Path dir, YearMonth now, int retentionMonths) throws IOException {
    if (retentionMonths <= 0 || !Files.isDirectory(dir)) {
      return;
    }
    YearMonth oldest = now.minusMonths(retentionMonths - 1L);
    try (var files = Files.newDirectoryStream(dir, "*.jsonl")) {
      for (Path file : files) {
        Matcher m = FILE.matcher(file.getFileName().toString());
        if (m.matches() && m.group(2) != null && YearMonth.parse(m.group(2)).isBefore(oldest)) {
          Files.deleteIfExists(file);
          LOG.info("journal " + file.getFileName() + " is older than " + retentionMonths + " months: deleted");
        }
      }
    }
  }

  @Override
  public void close() throws IOException {
    if (writer != null) {
      writer.flush();
      channel.force(false);
      writer.close();
      writer = null;
      channel = null;
    }
  }
}
