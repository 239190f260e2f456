package dev.agenthub.memory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Optional;

/**
 * The OS lock that makes one process the only writer of a memory directory: held for as long as the
 * writer lives, released by the kernel when its process dies, so a second process (in the cluster
 * or not) cannot write the same files. The holder is recorded next to the lock for error messages.
 */
public final class DirectoryLock implements AutoCloseable {

  private final FileChannel channel;
  private final FileLock lock;
  private final Path holderFile;

  private DirectoryLock(FileChannel channel, FileLock lock, Path holderFile) {
    this.channel = channel;
    this.lock = lock;
    this.holderFile = holderFile;
  }

  /** Takes the lock if it is free; {@code holder} describes this process for others to read. */
  public static Optional<DirectoryLock> tryAcquire(Path dir, String holder) throws IOException {
    Path state = dir.resolve(MarkdownStore.STATE_DIR);
    Files.createDirectories(state);
    FileChannel ch = FileChannel.open(state.resolve("writer.lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    FileLock lock;
    try {
      lock = ch.tryLock();
    } catch (OverlappingFileLockException e) {
      lock = null; // held by another writer in this same JVM
    }
    if (lock == null) {
      ch.close();
      return Optional.empty();
    }
    Path holderFile = state.resolve("writer.holder");
    Files.write(holderFile, holder.getBytes(StandardCharsets.UTF_8));
    return Optional.of(new DirectoryLock(ch, lock, holderFile));
  }

  /** Who holds (or last held) the lock of {@code dir}, as it described itself. */
  public static String holder(Path dir) {
    try {
      return Files.readString(dir.resolve(MarkdownStore.STATE_DIR).resolve("writer.holder")).trim();
    } catch (IOException e) {
      return "an unknown process";
    }
  }

  @Override
  public void close() throws IOException {
    try {
      Files.write(holderFile, ByteBuffer.allocate(0).array());
    } finally {
      lock.release();
      channel.close();
    }
  }
}
