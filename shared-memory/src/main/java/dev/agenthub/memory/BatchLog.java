package dev.agenthub.memory;

import java.io.ByteArrayOutputStream;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.Optional;

/**
 * The latest journal batches of a store, in memory, as the journal frames they were written as:
 * what a follower that fell a little behind (or a node that came back) is sent instead of a
 * snapshot. Bounded by bytes; the oldest batches leave first. Thread-safe: the committer adds, the
 * event loop reads.
 */
final class BatchLog {

  /** One batch: the writer's epoch, its sequence number and its frames (the closing mark included). */
  record Batch(long epoch, long seq, byte[] frames) {
  }

  private final long maxBytes;
  private final ArrayDeque<Batch> batches = new ArrayDeque<>();
  private long bytes;

  BatchLog(long maxBytes) {
    this.maxBytes = maxBytes;
  }

  synchronized void add(Batch batch) {
    Batch last = batches.peekLast();
    if (last != null && batch.seq() != last.seq() + 1) {
      // a snapshot or a step down started the log again: what came before does not lead here
      clear();
    }
    batches.addLast(batch);
    bytes += batch.frames().length;
    while (bytes > maxBytes && batches.size() > 1) {
      bytes -= batches.removeFirst().frames().length;
    }
  }

  synchronized void clear() {
    batches.clear();
    bytes = 0;
  }

  /** The newest batch, if any. */
  synchronized Optional<Batch> last() {
    return Optional.ofNullable(batches.peekLast());
  }

  /** The epoch of the batch numbered {@code seq}, if it is still held. */
  synchronized Optional<Long> epochOf(long seq) {
    Batch first = batches.peekFirst();
    if (first == null || seq < first.seq() || seq > batches.peekLast().seq()) {
      return Optional.empty();
    }
    for (Iterator<Batch> it = batches.descendingIterator(); it.hasNext(); ) {
      Batch b = it.next();
      if (b.seq() == seq) {
        return Optional.of(b.epoch());
      }
    }
    return Optional.empty();
  }

  /**
   * The frames of the batches after {@code (epoch, seq)}, up to about {@code limit} bytes (at least one
   * batch), or empty when the log no longer holds that batch or holds another one under its number
   * (the asker's log went another way: it needs a snapshot). An empty array: nothing newer.
   */
  synchronized Optional<byte[]> after(long epoch, long seq, long limit) {
    Optional<Long> known = epochOf(seq);
    if (known.isEmpty() || known.get() != epoch) {
      return Optional.empty();
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (Batch b : batches) {
      if (b.seq() <= seq) {
        continue;
      }
      if (out.size() > 0 && out.size() + b.frames().length > limit) {
        break;
      }
      out.writeBytes(b.frames());
    }
    return Optional.of(out.toByteArray());
  }
}
