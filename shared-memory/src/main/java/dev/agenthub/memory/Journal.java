package dev.agenthub.memory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.zip.CRC32C;

/**
 * The write-ahead journal of the memory store: every append and replace is framed here
 * ({@code length, crc32c, payload}) and forced to disk once per batch before the Markdown files are
 * touched, so one fsync covers many writes and a crash is repaired by replaying it. Two segments are
 * kept ({@code journal.prev}, {@code journal.cur}); their write ids make retried appends land once.
 */
final class Journal implements AutoCloseable {

  static final byte APPEND = 1;
  static final byte REPLACE = 2;
  /**
   * Closes a batch: {@code epoch} is the writer's epoch, {@code offset} the batch's sequence number.
   * Records after the last marker belong to no batch (a crash mid-write) and are cut at recovery.
   */
  static final byte MARK = 3;
  /** A write id known from before a snapshot: {@code path} and {@code offset} hold its result. */
  static final byte WRITE_ID = 4;
  /** The largest record the journal reads back; a write must fit it, header and path included. */
  static final int MAX_RECORD = 64 * 1024 * 1024;

  /** One journaled write: set the file's length to {@code offset}, then write {@code data} there. */
  record Record(byte op, long epoch, String path, long offset, String writeId, byte[] data) {
    static Record mark(long epoch, long seq) {
      return new Record(MARK, epoch, "", seq, null, new byte[0]);
    }
  }

  private static final byte[] NO_DATA = new byte[0];

  private final Path cur;
  private final Path prev;
  private FileChannel channel;

  Journal(Path dir) throws IOException {
    Files.createDirectories(dir);
    this.cur = dir.resolve("journal.cur");
    this.prev = dir.resolve("journal.prev");
    this.channel = open(cur);
  }

  private static FileChannel open(Path file) throws IOException {
    FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.READ);
    ch.position(ch.size());
    return ch;
  }

  Path current() {
    return cur;
  }

  Path previous() {
    return prev;
  }

  long size() throws IOException {
    return channel.size();
  }

  void write(List<Record> records) throws IOException {
    for (Record r : records) {
      write(encode(r));
    }
  }

  /** Writes frames already encoded (a replicated batch arrives as the writer's journal bytes). */
  void write(ByteBuffer frames) throws IOException {
    while (frames.hasRemaining()) {
      channel.write(frames);
    }
  }

  /** Drops both segments: the files hold everything they had (a snapshot was installed over them). */
  void reset() throws IOException {
    channel.truncate(0);
    channel.force(false);
    Files.deleteIfExists(prev);
    channel.position(0);
  }

  void force() throws IOException {
    channel.force(false);
  }

  /** Starts a new segment; the current one becomes the previous one. Call after the files are on disk. */
  void rotate() throws IOException {
    channel.force(false);
    channel.close();
    Files.move(cur, prev, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    channel = open(cur);
    MarkdownStore.forceDirectory(cur.getParent());
  }

  @Override
  public void close() throws IOException {
    channel.close();
  }

  /** The frames of {@code records}, one after another. */
  static byte[] encodeAll(List<Record> records) {
    List<ByteBuffer> frames = new ArrayList<>(records.size());
    int size = 0;
    for (Record r : records) {
      ByteBuffer f = encode(r);
      frames.add(f);
      size += f.remaining();
    }
    ByteBuffer out = ByteBuffer.allocate(size);
    frames.forEach(out::put);
    return out.array();
  }

  /**
   * The records framed in {@code bytes} (as {@link #encodeAll} wrote them); fails on a frame that
   * is cut short or does not match its checksum: bytes from the network are all there or refused.
   */
  static List<Record> decodeAll(byte[] bytes) {
    List<Record> out = new ArrayList<>();
    ByteBuffer b = ByteBuffer.wrap(bytes);
    while (b.hasRemaining()) {
      if (b.remaining() < 8) {
        throw new IllegalArgumentException("a journal frame is cut short");
      }
      int length = b.getInt();
      int crc = b.getInt();
      if (length <= 0 || length > b.remaining()) {
        throw new IllegalArgumentException("a journal frame is cut short");
      }
      ByteBuffer body = b.slice(b.position(), length);
      CRC32C check = new CRC32C();
      check.update(body.duplicate());
      if ((int) check.getValue() != crc) {
        throw new IllegalArgumentException("a journal frame does not match its checksum");
      }
      out.add(decode(body));
      b.position(b.position() + length);
    }
    return out;
  }

  static ByteBuffer encode(Record r) {
    byte[] path = r.path().getBytes(StandardCharsets.UTF_8);
    byte[] id = r.writeId() == null ? new byte[0] : r.writeId().getBytes(StandardCharsets.UTF_8);
    int payload = 1 + 8 + 8 + 2 + path.length + 2 + id.length + 4 + r.data().length;
    ByteBuffer body = ByteBuffer.allocate(payload);
    body.put(r.op()).putLong(r.epoch()).putLong(r.offset())
      .putShort((short) path.length).put(path).putShort((short) id.length).put(id)
      .putInt(r.data().length).put(r.data());
    body.flip();
    CRC32C crc = new CRC32C();
    crc.update(body.duplicate());
    ByteBuffer frame = ByteBuffer.allocate(8 + payload);
    frame.putInt(payload).putInt((int) crc.getValue()).put(body);
    frame.flip();
    return frame;
  }

  /**
   * Reads every whole record of {@code file}; a torn or corrupt tail (a crash mid-write) is cut off
   * and reported through {@code log}.
   */
  static List<Record> readAndRepair(Path file, Consumer<String> log) throws IOException {
    List<Record> out = new ArrayList<>();
    if (!Files.exists(file)) {
      return out;
    }
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      long size = ch.size();
      long pos = 0;
      ByteBuffer header = ByteBuffer.allocate(8);
      while (pos < size) {
        header.clear();
        if (size - pos < 8 || ch.read(header, pos) < 8) {
          break;
        }
        header.flip();
        int length = header.getInt();
        int crc = header.getInt();
        if (length <= 0 || length > MAX_RECORD || pos + 8 + length > size) {
          break;
        }
        ByteBuffer body = ByteBuffer.allocate(length);
        ch.read(body, pos + 8);
        body.flip();
        CRC32C check = new CRC32C();
        check.update(body.duplicate());
        if ((int) check.getValue() != crc) {
          break;
        }
        out.add(decode(body));
        pos += 8 + length;
      }
      if (pos < size) {
        log.accept("memory journal " + file.getFileName() + ": cut a torn tail of " + (size - pos)
          + " bytes at offset " + pos + " (a write interrupted by a crash, never acknowledged)");
        ch.truncate(pos);
        ch.force(false);
      }
    }
    return out;
  }

  private static Record decode(ByteBuffer b) {
    byte op = b.get();
    long epoch = b.getLong();
    long offset = b.getLong();
    byte[] path = new byte[b.getShort() & 0xffff];
    b.get(path);
    byte[] id = new byte[b.getShort() & 0xffff];
    b.get(id);
    byte[] data = new byte[b.getInt()];
    b.get(data);
    return new Record(op, epoch, new String(path, StandardCharsets.UTF_8), offset,
      id.length == 0 ? null : new String(id, StandardCharsets.UTF_8), data.length == 0 ? NO_DATA : data);
  }
}
