package dev.agenthub.memory;

import io.vertx.core.Vertx;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class DirectoryLockTest {

  @TempDir
  Path dir;

  @Test
  void aSecondTryInTheSameProcessNeitherGetsNorBreaksTheLock() throws Exception {
    Optional<DirectoryLock> first = DirectoryLock.tryAcquire(dir, "first");
    assertThat(first).isPresent();
    // no second channel is opened on the held lock: closing one would drop the process's POSIX lock
    assertThat(DirectoryLock.tryAcquire(dir, "second")).isEmpty();
    assertThat(DirectoryLock.holder(dir)).isEqualTo("first");
    first.get().close();
    Optional<DirectoryLock> third = DirectoryLock.tryAcquire(dir, "third");
    assertThat(third).isPresent();
    third.get().close();
  }

  @Test
  void aWriterThatFailsToOpenItsStoreLetsGoOfTheDirectory() throws Exception {
    Vertx vertx = Vertx.vertx();
    try {
      // a store that cannot open (files larger than the journal takes): the start fails after the OS lock was taken
      MarkdownStore.Options impossible = new MarkdownStore.Options(true, 1024, MarkdownStore.MAX_FILE_BYTES + 1, 1 << 20, 0);
      SharedMemoryVerticle writer = new SharedMemoryVerticle(dir, impossible, new MemoryPolicy(Map.of()), "n1", false,
        new SharedMemoryVerticle.Listener() { }, null);
      assertThatThrownBy(() -> vertx.deployVerticle(writer).await(30, TimeUnit.SECONDS)).isNotNull();
      // nothing is held: another writer (this process or another) can take the directory
      long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      Optional<DirectoryLock> next = Optional.empty();
      while (next.isEmpty() && System.nanoTime() < end) {
        next = DirectoryLock.tryAcquire(dir, "next");
        if (next.isEmpty()) {
          Thread.sleep(100);
        }
      }
      assertThat(next).isPresent();
      next.get().close();
    } finally {
      vertx.close().await(30, TimeUnit.SECONDS);
    }
  }
}
