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
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The OS lock that makes one process the only writer of a memory directory: held for as long as the
 * writer lives, released by the kernel when its process dies, so a second process (in the cluster
 * or not) cannot write the same files. The holder is recorded next to the lock for error messages.
 */
public final class DirectoryLock implements AutoCloseable {

  // lock files this process holds: POSIX locks belong to the process, and closing any other channel
  // on the same file would silently drop the one held, so a second try in this JVM never opens one
  private static final Set<Path> HELD = ConcurrentHashMap.newKeySet();

  private final FileChannel channel;
  private final FileLock lock;
  private final Path holderFile;
  private final Path lockFile;

  private DirectoryLock(FileChannel channel, FileLock lock, Path holderFile, Path lockFile) {
    this.channel = channel;
    this.lock = lock;
    this.holderFile = holderFile;
    this.lockFile = lockFile;
  }

  /** Takes the lock if it is free; {@code holder} describes this process for others to read. */
  public static Optional<DirectoryLock> tryAcquire(Path dir, String holder) throws IOException {
    Path state = dir.resolve(MemoryLayout.STATE_DIR);
    Files.createDirectories(state);
    Path lockFile = state.resolve("writer.lock").toAbsolutePath().normalize();
    if (!HELD.add(lockFile)) {
      return Optional.empty(); // held by another writer in this same JVM
    }
    FileChannel ch = null;
    try {
      ch = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
      FileLock lock;
      try {
        lock = ch.tryLock();
      } catch (OverlappingFileLockException e) {
        lock = null;
      }
      if (lock == null) {
        ch.close();
        HELD.remove(lockFile);
        return Optional.empty();
      }
      Path holderFile = state.resolve("writer.holder");
      Files.write(holderFile, holder.getBytes(StandardCharsets.UTF_8));
      return Optional.of(new DirectoryLock(ch, lock, holderFile, lockFile));
    } catch (IOException | RuntimeException e) {
      if (ch != null) {
        ch.close();
      }
      HELD.remove(lockFile);
      throw e;
    }
  }

  /** What a try gave: the lock, or (read at once) who holds it. */
  record Attempt(Optional<DirectoryLock> lock, String holder) {
  }

  /** Tries the lock of {@code dir} for node {@code node} of this process; blocks, off the event loop. */
  static Attempt attempt(Path dir, String node) throws IOException {
    String holder = "node " + node + " (pid " + ProcessHandle.current().pid() + ")";
    Optional<DirectoryLock> lock = tryAcquire(dir, holder);
    return new Attempt(lock, lock.isPresent() ? holder : holder(dir));
  }

  /** Who holds (or last held) the lock of {@code dir}, as it described itself. */
  public static String holder(Path dir) {
    try {
      return Files.readString(dir.resolve(MemoryLayout.STATE_DIR).resolve("writer.holder")).trim();
    } catch (IOException e) {
      return "an unknown process";
    }
  }

  @Override
  public void close() throws IOException {
    try {
      Files.write(holderFile, ByteBuffer.allocate(0).array());
    } finally {
      try {
        lock.release();
        channel.close();
      } finally {
        HELD.remove(lockFile);
      }
    }
  }
}
