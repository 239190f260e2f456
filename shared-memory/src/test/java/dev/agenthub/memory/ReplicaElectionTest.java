package dev.agenthub.memory;

import dev.agenthub.protocol.Failure;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.junit5.Timeout;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static dev.agenthub.memory.Conditions.on;
import static dev.agenthub.memory.Conditions.pause;
import static dev.agenthub.memory.Conditions.until;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Which copy writes replicated memory, with no cluster: the lock, the epoch counter, the in-sync
 * record and the memory nodes' map in memory ({@link InMemoryElectionStore}), each copy a real
 * replica store in its own directory with its real {@link ReplicaFollower} (which answers promises,
 * signed), all on one local event bus. A copy that leads hands each batch to the stores of its
 * in-sync copies, as {@link ReplicaSet} would over the bus.
 */
@ExtendWith(VertxExtension.class)
@Timeout(value = 60, timeUnit = TimeUnit.SECONDS)
class ReplicaElectionTest {

  private static final byte[] SECRET = "replica-election-test".getBytes(StandardCharsets.UTF_8);
  /** Longer than two rounds of tries: whatever was going to happen, has. */
  private static final long ROUNDS = 2 * WriterElection.RETRY_MS + 500;

  @TempDir
  Path base;
  private InMemoryElectionStore cluster;
  private final Map<String, Copy> copies = new ConcurrentHashMap<>();

  @BeforeEach
  void cluster(Vertx vertx) {
    cluster = new InMemoryElectionStore(vertx);
  }

  @AfterEach
  void stop(VertxTestContext test) {
    Future.join(copies.values().stream().map(Copy::stop).toList()).onComplete(test.succeedingThenComplete());
  }

  /**
   * A memory node of a cluster of {@code replicas}: its copy, its follower, and its election, whose
   * seat records what it was made to do.
   */
  private final class Copy {
    final String name;
    final Context context;
    final Path dir;
    final ReplicaAuth auth;
    final InSyncRecord.Store records;
    final MemoryNodes nodes;
    final ReplicaFollower follower;
    final ReplicaElection election;
    final List<InSyncRecord> led = new CopyOnWriteArrayList<>();
    final AtomicInteger followed = new AtomicInteger();
    volatile MarkdownStore store;
    volatile boolean leadFails;
    private long publisher = -1;

    Copy(Vertx vertx, String name, int replicas) throws Exception {
      this.name = name;
      this.context = vertx.getOrCreateContext();
      this.dir = base.resolve(name);
      this.auth = new ReplicaAuth(SECRET, name);
      ElectionStore view = cluster.member(name);
      this.records = InSyncRecord.Store.cluster(view, auth);
      this.nodes = new MemoryNodes(view, auth, name);
      this.store = openReplica(dir);
      this.follower = new ReplicaFollower(vertx, context, name, () -> store, auth, nodes::known,
        () -> view.counter(WriterElection.EPOCH_COUNTER));
      this.election = new ReplicaElection(vertx, view, records, nodes, auth, name, replicas, new ReplicaElection.Seat() {
        @Override
        public MarkdownStore copy() {
          return store;
        }

        @Override
        public Future<Void> lead(InSyncRecord record) {
          led.add(record);
          if (leadFails) {
            return Future.failedFuture("its first batch was not held");
          }
          follower.pause();
          return Future.fromCompletionStage(store.lead(record.epoch(), to(record.members())), context).mapEmpty();
        }

        @Override
        public void follow() {
          followed.incrementAndGet();
          MarkdownStore old = store;
          store = null;
          vertx.executeBlocking(() -> {
            old.close();
            return openReplica(dir);
          }).onSuccess(reopened -> {
            store = reopened;
            follower.reset();
          });
        }

        @Override
        public Future<Void> close() {
          return follower.stop().transform(ignored -> vertx.executeBlocking(() -> {
            if (store != null) {
              store.close();
            }
            return null;
          }));
        }
      });
      copies.put(name, this);
    }

    /** Answers promises and says it is a memory node, once a second, as a copy does before it stands. */
    Future<Void> follow(Vertx vertx) {
      return on(context, () -> {
        publisher = vertx.setPeriodic(0, WriterElection.RETRY_MS, id -> {
          if (store != null) {
            nodes.publish(store.position());
          }
        });
        return follower.start();
      });
    }

    /** Stands for writer (it follows already). */
    Future<Void> standBy() {
      return on(context, () -> {
        election.standBy();
        return Future.succeededFuture();
      });
    }

    /** Follows, and stands for writer. */
    Future<Void> stand(Vertx vertx) {
      return follow(vertx).compose(v -> standBy());
    }

    Future<Void> stop() {
      return on(context, () -> {
        context.owner().cancelTimer(publisher);
        return election.stop();
      });
    }

    Future<Void> stepDown(String why) {
      return on(context, () -> {
        election.stepDown(why);
        return Future.succeededFuture();
      });
    }

    boolean leads() {
      return !led.isEmpty();
    }
  }

  private static MarkdownStore openReplica(Path dir) throws Exception {
    return MarkdownStore.openReplica(dir, MarkdownStore.Options.defaults(), line -> { });
  }

  /** Hands each batch to the stores of {@code members}, and answers once all have it. */
  private MarkdownStore.Replicator to(Set<String> members) {
    return (epoch, seq, frames) -> CompletableFuture.allOf(members.stream()
      .map(m -> copies.get(m).store.follow(epoch, seq, frames)).toArray(CompletableFuture[]::new));
  }

  /** The in-sync record as the cluster holds it, read by {@code reader}. */
  private InSyncRecord record(Copy reader) {
    String sealed = cluster.value(InSyncRecord.Store.MAP, "memory");
    return sealed == null ? null : InSyncRecord.decode(reader.auth.openRecord(sealed));
  }

  /** Puts {@code record} in the cluster, signed as a memory node signs it. */
  private void putRecord(InSyncRecord record) {
    cluster.put(InSyncRecord.Store.MAP, "memory", new ReplicaAuth(SECRET, "seed").sealRecord(record.encode()), 0);
  }

  /** True when another member gets the writer's lock within 3 s: whoever stood gave it back. */
  private Future<Boolean> lockIsFree() {
    return cluster.member("probe").lock(WriterElection.LOCK, 3_000).map(lock -> {
      lock.release();
      return true;
    }).otherwise(false);
  }

  @Test
  void aNewClusterElectsOneWriterOnceEnoughOtherCopiesAnswer(Vertx vertx, VertxTestContext test) throws Exception {
    Copy m1 = new Copy(vertx, "m1", 3);
    AtomicReference<List<Copy>> all = new AtomicReference<>();
    m1.stand(vertx)
      .compose(v -> pause(vertx, ROUNDS))
      .compose(v -> {
        // alone, it cannot know whether another copy saw batches it lacks: it waits
        test.verify(() -> {
          assertThat(m1.leads()).isFalse();
          assertThat(record(m1)).isNull();
        });
        try {
          all.set(List.of(m1, new Copy(vertx, "m2", 3), new Copy(vertx, "m3", 3)));
        } catch (Exception e) {
          return Future.failedFuture(e);
        }
        // both answer promises before either stands
        Copy m2 = all.get().get(1);
        Copy m3 = all.get().get(2);
        return Future.all(m2.follow(vertx), m3.follow(vertx)).compose(x -> Future.all(m2.standBy(), m3.standBy()));
      })
      .compose(v -> until(vertx, "a writer", () -> all.get().stream().anyMatch(Copy::leads)))
      .compose(v -> pause(vertx, ROUNDS))
      .onComplete(test.succeeding(v -> test.verify(() -> {
        List<Copy> writers = all.get().stream().filter(Copy::leads).toList();
        assertThat(writers).hasSize(1);
        Copy writer = writers.get(0);
        InSyncRecord won = writer.led.get(0);
        assertThat(writer.led).hasSize(1);
        assertThat(won.writer()).isEqualTo(writer.name);
        assertThat(won.members()).isEmpty();
        assertThat(record(writer)).isEqualTo(won);
        // its epoch is the counter's, and every copy that answered promised it
        assertThat(cluster.counter(WriterElection.EPOCH_COUNTER)).isEqualTo(won.epoch());
        assertThat(all.get()).allSatisfy(c -> assertThat(c.store.promised()).isEqualTo(won.epoch()));
        assertThat(writer.store.leading()).isTrue();
        assertThat(cluster.holder(WriterElection.LOCK)).isEqualTo(writer.name);
        test.completeNow();
      })));
  }

  @Test
  void whenTheWriterGoesOnlyAnInSyncCopyTakesOverAndTheOldWriterIsFencedByItsEpoch(Vertx vertx,
                                                                                  VertxTestContext test)
    throws Exception {
    // a cluster that ran in epoch 1: m1 wrote two batches, m2 holds them (in sync), m3 holds none
    MarkdownStore s1 = openReplica(base.resolve("m1"));
    MarkdownStore s2 = openReplica(base.resolve("m2"));
    s1.lead(1, (epoch, seq, frames) -> s2.follow(epoch, seq, frames).thenApply(p -> null)).get(30, TimeUnit.SECONDS);
    s1.append("notes/a.md", "m1", "before the takeover", null).get(30, TimeUnit.SECONDS);
    s1.close();
    s2.close();
    putRecord(new InSyncRecord(1, "m1", Set.of("m2")));
    cluster.add(WriterElection.EPOCH_COUNTER, 1);
    Copy m1 = new Copy(vertx, "m1", 3);
    Copy m2 = new Copy(vertx, "m2", 3);
    Copy m3 = new Copy(vertx, "m3", 3);
    AtomicReference<Throwable> lateWrite = new AtomicReference<>();

    Future.all(m1.stand(vertx), m2.follow(vertx), m3.follow(vertx))
      .compose(v -> until(vertx, "m1 leads", m1::leads))
      .compose(v -> {
        test.verify(() -> assertThat(m1.led).containsExactly(new InSyncRecord(2, "m1", Set.of("m2"))));
        return m3.stand(vertx).compose(x -> pause(vertx, ROUNDS));
      })
      .compose(v -> {
        // m1 is cut off: the cluster gives its lock to the next; its process still runs, believing it writes
        cluster.leave("m1");
        return pause(vertx, ROUNDS);
      })
      .compose(v -> {
        test.verify(() -> {
          // m3 is not in the in-sync set: it may lack acknowledged batches, so it stands by
          assertThat(m3.leads()).isFalse();
          assertThat(record(m3)).isEqualTo(new InSyncRecord(2, "m1", Set.of("m2")));
        });
        return m2.standBy();
      })
      .compose(v -> until(vertx, "m2 leads", m2::leads))
      .compose(v -> {
        test.verify(() -> {
          // a newer epoch, which the old writer promised when m2 asked: its copy is as far as m2's
          assertThat(m2.led).containsExactly(new InSyncRecord(3, "m2", Set.of()));
          assertThat(m1.store.promised()).isEqualTo(3);
        });
        // the old writer's next write is refused: its epoch is older than the one its copy promised
        return Future.fromCompletionStage(m1.store.append("notes/a.md", "m1", "too late", null), m1.context)
          .onFailure(lateWrite::set)
          .transform(ar -> until(vertx, "m1 steps down", () -> m1.followed.get() == 1));
      })
      .compose(v -> pause(vertx, ROUNDS))
      .onComplete(test.succeeding(v -> test.verify(() -> {
        assertThat(lateWrite.get()).isInstanceOf(Failure.class).hasMessageContaining("replaced by epoch 3");
        assertThat(m1.election.writing()).isFalse();
        assertThat(m1.led).hasSize(1);
        assertThat(m3.leads()).isFalse();
        assertThat(record(m2)).isEqualTo(new InSyncRecord(3, "m2", Set.of()));
        assertThat(cluster.holder(WriterElection.LOCK)).isEqualTo("m2");
        assertThat(cluster.counter(WriterElection.EPOCH_COUNTER)).isEqualTo(3);
        test.completeNow();
      })));
  }

  @Test
  void anOldRecordWrittenBackIsNotTrustedAndTheEpochRisesAboveEveryPromise(Vertx vertx, VertxTestContext test)
    throws Exception {
    // the whole cluster restarted (its counter is 0), m1 promised epoch 5 before; the record is a
    // signed one of epoch 3, written back: trusted, it would keep m1 out
    MarkdownStore seed = openReplica(base.resolve("m1"));
    seed.promise(5);
    seed.close();
    putRecord(new InSyncRecord(3, "m9", Set.of()));
    Copy m1 = new Copy(vertx, "m1", 2);
    m1.stand(vertx)
      .compose(v -> until(vertx, "m1 leads", m1::leads))
      .onComplete(test.succeeding(v -> test.verify(() -> {
        assertThat(m1.led).containsExactly(new InSyncRecord(6, "m1", Set.of()));
        assertThat(record(m1)).isEqualTo(new InSyncRecord(6, "m1", Set.of()));
        assertThat(cluster.counter(WriterElection.EPOCH_COUNTER)).isEqualTo(6);
        test.completeNow();
      })));
  }

  @Test
  void anAbsurdEpochFromTheCounterIsRefusedAndTheLockGivenBack(Vertx vertx, VertxTestContext test) throws Exception {
    cluster.add(WriterElection.EPOCH_COUNTER, ReplicaFollower.MAX_EPOCH - 1);
    Copy m1 = new Copy(vertx, "m1", 2);
    m1.stand(vertx)
      .compose(v -> pause(vertx, ROUNDS))
      .compose(v -> lockIsFree())
      .onComplete(test.succeeding(free -> test.verify(() -> {
        assertThat(m1.leads()).isFalse();
        assertThat(m1.store.promised()).isZero();
        assertThat(record(m1)).isNull();
        assertThat(free).isTrue();
        test.completeNow();
      })));
  }

  @Test
  void aTakeoverThatFailsStepsDownAndGivesTheLockBack(Vertx vertx, VertxTestContext test) throws Exception {
    Copy m1 = new Copy(vertx, "m1", 2);
    m1.leadFails = true;
    m1.stand(vertx)
      .compose(v -> until(vertx, "m1 stepped down", () -> m1.followed.get() == 1))
      .compose(v -> lockIsFree())
      .onComplete(test.succeeding(free -> test.verify(() -> {
        assertThat(m1.leads()).isTrue();
        assertThat(m1.election.writing()).isFalse();
        assertThat(free).isTrue();
        test.completeNow();
      })));
  }

  @Test
  void aWriterToldThatANewerOneTookOverStepsDownOnceAndStandsAgain(Vertx vertx, VertxTestContext test)
    throws Exception {
    Copy m1 = new Copy(vertx, "m1", 2);
    List<Long> epochs = new ArrayList<>();
    m1.stand(vertx)
      .compose(v -> until(vertx, "m1 leads", m1::leads))
      .compose(v -> m1.stepDown("a newer writer took over"))
      .compose(v -> m1.stepDown("a newer writer took over")) // said twice (a record and a follower): once is enough
      .compose(v -> until(vertx, "m1 leads again", () -> m1.led.size() == 2))
      .onComplete(test.succeeding(v -> test.verify(() -> {
        m1.led.forEach(r -> epochs.add(r.epoch()));
        assertThat(m1.followed).hasValue(1);
        assertThat(epochs).isSorted().doesNotHaveDuplicates();
        assertThat(m1.election.writing()).isTrue();
        test.completeNow();
      })));
  }
}
