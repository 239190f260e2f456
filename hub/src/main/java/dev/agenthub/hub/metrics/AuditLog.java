package dev.agenthub.hub.metrics;

import io.vertx.core.json.JsonObject;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The node's audit trail: refused skill calls, refused memory accesses, authentication failures,
 * budget blocks and refused identities, one JSON line each in {@code <dir>/<node>.<YYYY-MM>.jsonl}
 * (a file per UTC month; files older than {@code audit.retention-months} are deleted when a month
 * begins). Written by a thread of its own, so no event loop waits for the disk; bounded, so a flood
 * cannot exhaust memory.
 */
public final class AuditLog implements AutoCloseable {

  private static final int MAX_QUEUED = 10_000;
  private static final Logger LOG = Logger.getLogger(AuditLog.class.getName());
  private static final Pattern MONTHLY = Pattern.compile(".+\\.(\\d{4}-\\d{2})\\.jsonl");

  private final BlockingQueue<String> queue = new LinkedBlockingQueue<>(MAX_QUEUED);
  private final String node;
  private final Thread writer;
  private volatile boolean closed;

  private final Path dir;
  private final int retentionMonths;

  private AuditLog(Path dir, String node, int retentionMonths) {
    this.node = node;
    this.dir = dir;
    this.retentionMonths = retentionMonths;
    this.writer = new Thread(this::write, "agenthub-audit");
    this.writer.setDaemon(true);
    this.writer.start();
  }

  public static AuditLog open(Path dir, String node, int retentionMonths) {
    return new AuditLog(dir, node, retentionMonths);
  }

  public void record(String type, JsonObject detail) {
    JsonObject line = detail.copy().put("ts", Instant.now().toString()).put("node", node).put("type", type);
    if (!queue.offer(line.encode())) {
      LOG.warning("audit queue full: dropped " + type);
    }
  }

  private void write() {
    BufferedWriter out = null;
    YearMonth month = null;
    try {
      Files.createDirectories(dir);
      while (!closed || !queue.isEmpty()) {
        String line = queue.poll(500, TimeUnit.MILLISECONDS);
        if (line == null) {
          continue;
        }
        YearMonth now = YearMonth.now(ZoneOffset.UTC);
        if (!now.equals(month)) {
          if (out != null) {
            out.close();
          }
          out = Files.newBufferedWriter(dir.resolve(node + "." + now + ".jsonl"), StandardCharsets.UTF_8,
            StandardOpenOption.CREATE, StandardOpenOption.APPEND);
          month = now;
          prune(now);
        }
        out.write(line);
        out.newLine();
        if (queue.isEmpty()) {
          out.flush();
        }
      }
    } catch (IOException e) {
      LOG.warning("audit log in " + dir + " cannot be written: " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      if (out != null) {
        try {
          out.close();
        } catch (IOException e) {
          LOG.warning("audit log in " + dir + " cannot be closed: " + e.getMessage());
        }
      }
    }
  }

  /** Deletes this directory's monthly audit files older than the retention. */
  private void prune(YearMonth now) throws IOException {
    if (retentionMonths <= 0) {
      return;
    }
    YearMonth oldest = now.minusMonths(retentionMonths - 1L);
    try (var files = Files.newDirectoryStream(dir, "*.jsonl")) {
      for (Path file : files) {
        Matcher m = MONTHLY.matcher(file.getFileName().toString());
        if (m.matches() && YearMonth.parse(m.group(1)).isBefore(oldest)) {
          Files.deleteIfExists(file);
        }
      }
    }
  }

  @Override
  public void close() {
    closed = true;
    try {
      writer.join(5_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
