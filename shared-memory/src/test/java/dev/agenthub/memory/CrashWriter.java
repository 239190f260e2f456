package dev.agenthub.memory;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.concurrent.Semaphore;

/** Run in a separate JVM by {@link CrashRecoveryTest}: appends forever, printing each acknowledged id. */
public final class CrashWriter {

  public static void main(String[] args) throws Exception {
    MarkdownStore store = MarkdownStore.open(Path.of(args[0]), 1, MarkdownStore.Options.defaults(), System.err::println);
    PrintStream out = new PrintStream(System.out, true);
    Semaphore inFlight = new Semaphore(64);
    for (long i = 0; ; i++) {
      inFlight.acquire();
      String id = "e" + i;
      String path = "shared/file" + (i % 3) + ".md";
      store.append(path, "w", "entry " + id + " " + "x".repeat((int) (i % 300)), id).whenComplete((r, err) -> {
        inFlight.release();
        if (err == null) {
          synchronized (out) {
            out.println("acked " + id + " " + path);
          }
        }
      });
    }
  }
}
