package dev.agenthub.hub.metrics;

import io.vertx.core.json.JsonObject;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.logging.Logger;

/**
 * The node's audit trail: refused skill calls, refused memory accesses, authentication failures,
 * budget blocks and refused identities, one JSON line each in {@code <dir>/<node>.jsonl}. Written by
 * a thread of its own, so no event loop waits for the disk; bounded, so a flood cannot exhaust memory.
 */
public final class AuditLog implements AutoCloseable {

  private static final int MAX_QUEUED = 10_000;
  private static final Logger LOG = Logger.getLogger(AuditLog.class.getName());

  private final BlockingQueue<String> queue = new LinkedBlockingQueue<>(MAX_QUEUED);
  private final String node;
  private final Thread writer;
  private volatile boolean closed;

  private AuditLog(Path file, String node) {
    this.node = node;
    this.writer = new Thread(() -> write(file), "agenthub-audit");
    this.writer.setDaemon(true);
    this.writer.start();
  }

  public static AuditLog open(Path dir, String node) {
    return new AuditLog(dir.resolve(node + ".jsonl"), node);
  }

  public void record(String type, JsonObject detail) {
    JsonObject line = detail.copy().put("ts", Instant.now().toString()).put("node", node).put("type", type);
    if (!queue.offer(line.encode())) {
      LOG.warning("audit queue full: dropped " + type);
    }
  }

  private void write(Path file) {
    try {
      Files.createDirectories(file.getParent());
      try (BufferedWriter out = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
        StandardOpenOption.APPEND)) {
        while (!closed || !queue.isEmpty()) {
          String line = queue.poll(500, java.util.concurrent.TimeUnit.MILLISECONDS);
          if (line != null) {
            out.write(line);
            out.newLine();
            if (queue.isEmpty()) {
              out.flush();
            }
          }
        }
      }
    } catch (IOException e) {
      LOG.warning("audit log " + file + " cannot be written: " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
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
