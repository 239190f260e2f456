package dev.agenthub.memory;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.shareddata.Lock;
import io.vertx.junit5.Timeout;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static dev.agenthub.memory.Conditions.on;
import static dev.agenthub.memory.Conditions.pause;
import static dev.agenthub.memory.Conditions.until;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Who writes one memory directory, with no cluster: the cluster's lock and counter in memory (a
 * member that leaves gives its lock back), the directory's OS lock real, in a temporary directory.
 * One of several candidates writes; a standby takes over, in a newer epoch, when the writer stops or
 * its member leaves and its process lets go of the directory; a candidate that cannot get the lock
 * stands by; a takeover that fails gives back everything it took; standalone, a held directory is
 * refused.
 */
@ExtendWith(VertxExtension.class)
@Timeout(value = 60, timeUnit = TimeUnit.SECONDS)
class WriterElectionTest {

  /** Longer than two rounds of tries: whatever was going to happen, has. */
  private static final long ROUNDS = 2 * WriterElection.RETRY_MS + 500;

  @TempDir
  Path dir;
  private InMemoryElectionStore cluster;
  private final List<Candidate> candidates = new ArrayList<>();

  @BeforeEach
  void cluster(Vertx vertx) {
    cluster = new InMemoryElectionStore(vertx);
  }

  @AfterEach
  void stop(VertxTestContext test) {
    Future.join(candidates.stream().map(Candidate::stop).toList()).onComplete(test.succeedingThenComplete());
  }

  /** A memory node of the cluster (or, with no cluster, alone), recording what its election made it do. */
  private final class Candidate {
    final String name;
    final Context context;
    final WriterElection election;
    final List<Long> epochs = new CopyOnWriteArrayList<>();
    final AtomicInteger vacated = new AtomicInteger();
    volatile boolean storeFails;

    Candidate(Vertx vertx, String name, boolean clustered) {
      this.name = name;
      this.context = vertx.getOrCreateContext();
      this.election = new WriterElection(vertx, clustered ? cluster.member(name) : null, dir, name, epoch -> {
        epochs.add(epoch);
        return storeFails ? Future.failedFuture("the store did not open") : Future.succeededFuture();
      }, () -> {
        vacated.incrementAndGet();
        return Future.succeededFuture();
      });
      candidates.add(this);
    }

    Candidate standBy() {
      context.runOnContext(v -> election.standBy());
      return this;
    }

    Future<Void> alone() {
      return on(context, election::alone);
    }

    Future<Void> stop() {
      return on(context, election::stop);
    }

    boolean wrote() {
      return !epochs.isEmpty();
    }
  }

  private Candidate candidate(Vertx vertx, String name) {
    return new Candidate(vertx, name, true);
  }

  /** Who the directory's OS lock names (read off the event loop). */
  private static Future<String> directoryHolder(Vertx vertx, Path dir) {
    return vertx.executeBlocking(() -> DirectoryLock.holder(dir));
  }

  @Test
  void oneOfSeveralCandidatesWritesAndTheOthersStandBy(Vertx vertx, VertxTestContext test) {
    List<Candidate> all = List.of(candidate(vertx, "n1").standBy(), candidate(vertx, "n2").standBy(),
      candidate(vertx, "n3").standBy());
    until(vertx, "a writer", () -> all.stream().anyMatch(Candidate::wrote))
      .compose(v -> pause(vertx, ROUNDS))
      .compose(v -> directoryHolder(vertx, dir))
      .onComplete(test.succeeding(holder -> test.verify(() -> {
        List<Candidate> writers = all.stream().filter(Candidate::wrote).toList();
        assertThat(writers).hasSize(1);
        Candidate writer = writers.get(0);
        // the first epoch of the cluster's counter; the writer holds both locks, the others gave nothing back
        assertThat(writer.epochs).containsExactly(1L);
        assertThat(writer.election.writing()).isTrue();
        assertThat(cluster.holder(WriterElection.LOCK)).isEqualTo(writer.name);
        assertThat(holder).startsWith("node " + writer.name + " (pid ");
        assertThat(all).allSatisfy(c -> assertThat(c.vacated).hasValue(0));
        test.completeNow();
      })));
  }

  @Test
  void whenTheWriterStopsAStandbyTakesOverInANewerEpoch(Vertx vertx, VertxTestContext test) {
    Candidate n1 = candidate(vertx, "n1").standBy();
    AtomicReference<Candidate> standby = new AtomicReference<>();
    until(vertx, "n1 writes", n1::wrote)
      .compose(v -> {
        standby.set(candidate(vertx, "n2").standBy());
        return pause(vertx, ROUNDS);
      })
      .compose(v -> {
        test.verify(() -> assertThat(standby.get().wrote()).isFalse());
        return n1.stop();
      })
      .compose(v -> until(vertx, "n2 writes", standby.get()::wrote))
      .onComplete(test.succeeding(v -> test.verify(() -> {
        assertThat(n1.vacated).hasValue(1);
        assertThat(n1.election.writing()).isFalse();
        assertThat(standby.get().epochs).containsExactly(2L);
        assertThat(cluster.holder(WriterElection.LOCK)).isEqualTo("n2");
        test.completeNow();
      })));
  }

  @Test
  void aWriterWhoseMemberLeftIsWaitedForUntilItsProcessLetsGoOfTheDirectory(Vertx vertx, VertxTestContext test) {
    Candidate n1 = candidate(vertx, "n1").standBy();
    AtomicReference<List<Candidate>> standbys = new AtomicReference<>();
    AtomicReference<String> next = new AtomicReference<>();
    until(vertx, "n1 writes", n1::wrote)
      .compose(v -> {
        standbys.set(List.of(candidate(vertx, "n2").standBy(), candidate(vertx, "n3").standBy()));
        return pause(vertx, ROUNDS);
      })
      .compose(v -> {
        // n1 is cut off from the cluster (its lock goes to the next in line), but its process still holds the directory
        cluster.leave("n1");
        return until(vertx, "a standby holds the cluster lock", () -> !"n1".equals(cluster.holder(WriterElection.LOCK))
          && cluster.holder(WriterElection.LOCK) != null);
      })
      .compose(v -> {
        next.set(cluster.holder(WriterElection.LOCK));
        return pause(vertx, ROUNDS);
      })
      .compose(v -> {
        test.verify(() -> {
          // it waits for the directory, keeping the cluster lock: no one writes beside n1
          assertThat(cluster.holder(WriterElection.LOCK)).isEqualTo(next.get());
          assertThat(standbys.get()).noneMatch(Candidate::wrote);
        });
        return n1.stop(); // its process lets go of the directory (its lock handle releases nothing now)
      })
      .compose(v -> until(vertx, "the next writer writes", () -> standbys.get().stream().anyMatch(Candidate::wrote)))
      .compose(v -> pause(vertx, ROUNDS))
      .onComplete(test.succeeding(v -> test.verify(() -> {
        List<Candidate> writers = standbys.get().stream().filter(Candidate::wrote).toList();
        assertThat(writers).extracting(c -> c.name).containsExactly(next.get());
        assertThat(writers.get(0).epochs).containsExactly(2L);
        assertThat(cluster.holder(WriterElection.LOCK)).isEqualTo(next.get());
        test.completeNow();
      })));
  }

  @Test
  void aCandidateThatCannotGetTheLockStandsByUntilItIsFree(Vertx vertx, VertxTestContext test) {
    AtomicReference<Lock> taken = new AtomicReference<>();
    AtomicReference<Candidate> n1 = new AtomicReference<>();
    cluster.member("other").lock(WriterElection.LOCK, 0)
      .compose(lock -> {
        taken.set(lock);
        n1.set(candidate(vertx, "n1").standBy());
        return pause(vertx, ROUNDS);
      })
      .compose(v -> directoryHolder(vertx, dir))
      .compose(holder -> {
        test.verify(() -> {
          // it neither wrote nor took the directory, and had nothing to give back
          assertThat(n1.get().wrote()).isFalse();
          assertThat(n1.get().vacated).hasValue(0);
          assertThat(holder).isEqualTo("an unknown process");
        });
        taken.get().release();
        return until(vertx, "n1 writes", n1.get()::wrote);
      })
      .onComplete(test.succeeding(v -> test.verify(() -> {
        assertThat(n1.get().epochs).containsExactly(1L);
        test.completeNow();
      })));
  }

  @Test
  void aTakeoverThatFailsGivesBackEverythingItTookAndEachTryTakesANewEpoch(Vertx vertx, VertxTestContext test) {
    Candidate n1 = candidate(vertx, "n1");
    n1.storeFails = true;
    n1.standBy();
    AtomicReference<Candidate> n2 = new AtomicReference<>();
    until(vertx, "n1 tried twice", () -> n1.epochs.size() >= 2 && n1.vacated.get() >= 2)
      .compose(v -> {
        // n1 keeps failing, and gives both locks back each time: another node gets its turn
        n2.set(candidate(vertx, "n2").standBy());
        return until(vertx, "n2 writes", n2.get()::wrote);
      })
      .compose(v -> directoryHolder(vertx, dir))
      .onComplete(test.succeeding(holder -> test.verify(() -> {
        assertThat(n1.election.writing()).isFalse();
        assertThat(n1.epochs).isSorted().doesNotHaveDuplicates();
        assertThat(n2.get().epochs).singleElement().satisfies(epoch -> assertThat(epoch).isGreaterThan(
          Collections.max(n1.epochs)));
        assertThat(holder).startsWith("node n2 ");
        test.completeNow();
      })));
  }

  @Test
  void aloneANodeWritesInAnEpochFromTheClockOrRefusesADirectoryHeldByAnother(Vertx vertx, VertxTestContext test) {
    long before = System.currentTimeMillis();
    Candidate n1 = new Candidate(vertx, "n1", false);
    Candidate n2 = new Candidate(vertx, "n2", false);
    Candidate n3 = new Candidate(vertx, "n3", false);
    n1.alone()
      .compose(v -> n2.alone().transform(ar -> Future.succeededFuture(Optional.ofNullable(ar.cause()))))
      .compose(refused -> {
        test.verify(() -> {
          assertThat(n1.epochs).singleElement().satisfies(epoch -> assertThat(epoch).isGreaterThanOrEqualTo(before));
          assertThat(refused).get().isInstanceOf(IllegalStateException.class).extracting(Throwable::getMessage)
            .asString().contains("is in use by node n1 (pid ");
          assertThat(n2.wrote()).isFalse();
        });
        return n1.stop();
      })
      .compose(v -> {
        // a store that does not open: the start fails, and the directory is free again
        n3.storeFails = true;
        return n3.alone().transform(ar -> Future.succeededFuture(ar.failed()));
      })
      .compose(failed -> {
        test.verify(() -> {
          assertThat(failed).isTrue();
          assertThat(n3.vacated).hasValue(1);
        });
        return n2.alone();
      })
      .onComplete(test.succeeding(v -> test.verify(() -> {
        assertThat(n1.vacated).hasValue(1);
        assertThat(n2.epochs).hasSize(1);
        test.completeNow();
      })));
  }
}
