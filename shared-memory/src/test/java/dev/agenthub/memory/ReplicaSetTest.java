package dev.agenthub.memory;

import dev.agenthub.protocol.Failure;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The writer's side of replication on a real event bus, with followers that answer, one that never
 * does (a stalled disk), and one that follows a newer writer; the in-sync record in a map that
 * compares and sets as the cluster's does.
 */
class ReplicaSetTest {

  private Vertx vertx;
  private Context context;
  private final AtomicReference<String> stored = new AtomicReference<>();
  private final AtomicBoolean fenced = new AtomicBoolean();

  /** The record's home, compare-and-set on its encoded value as in the cluster map. */
  private final InSyncRecord.Store store = new InSyncRecord.Store() {
    @Override
    public Future<InSyncRecord> get() {
      String s = stored.get();
      return Future.succeededFuture(s == null ? null : InSyncRecord.decode(s));
    }

    @Override
    public Future<Boolean> replace(InSyncRecord expected, InSyncRecord next) {
      synchronized (stored) {
        // by value, as the cluster map compares
        if (!Objects.equals(stored.get(), expected == null ? null : expected.encode())) {
          return Future.succeededFuture(false);
        }
        stored.set(next.encode());
        return Future.succeededFuture(true);
      }
    }
  };

  @BeforeEach
  void start() {
    vertx = Vertx.vertx();
    context = vertx.getOrCreateContext();
  }

  @AfterEach
  void stop() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  private static final byte[] SECRET = "replica-set-test".getBytes(StandardCharsets.UTF_8);

  private void follower(String node, boolean answers) throws Exception {
    follower(node, answers ? "ok" : null, SECRET);
  }

  /** A follower that answers each batch with {@code status} (null: never), signed under {@code secret}. */
  private void follower(String node, String status, byte[] secret) throws Exception {
    ReplicaAuth auth = new ReplicaAuth(secret, node);
    vertx.eventBus().<Buffer>consumer(ReplicaAddresses.append(node), m -> {
      if (status != null) {
        long epoch = Long.parseLong(m.headers().get("epoch"));
        long seq = Long.parseLong(m.headers().get("seq"));
        Buffer empty = Buffer.buffer();
        m.reply(empty, auth.sign(ReplicaFollower.ackSubject(node, epoch, seq, status, 8), empty,
          new DeliveryOptions().addHeader("status", status).addHeader("promised", "8")));
      } // else: a disk that stalls, the batch never answered
    }).completion().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  private ReplicaSet writer(InSyncRecord record, int replicas) throws Exception {
    stored.set(record.encode());
    CompletableFuture<ReplicaSet> made = new CompletableFuture<>();
    context.runOnContext(v -> {
      ReplicaSet set = new ReplicaSet(vertx, context, "w", replicas, record, store, new ReplicaAuth(SECRET, "w"),
        () -> fenced.set(true));
      set.start();
      made.complete(set);
    });
    return made.get(30, TimeUnit.SECONDS);
  }

  private static void done(CompletableFuture<Void> f) throws Exception {
    f.get(30, TimeUnit.SECONDS);
  }

  @Test
  void aStalledFollowerLeavesTheInSyncSetSoWritesGoOnAndJoinsAgainWhenCaughtUp() throws Exception {
    follower("f1", true);
    follower("f2", false);
    ReplicaSet set = writer(new InSyncRecord(5, "w", Set.of("f1", "f2")), 3);
    // batch 1 waits for f2 until it is dropped (after ReplicaSet.LAG_MS), then is answered
    done(set.replicate(5, 1, new byte[] {1}));
    assertThat(InSyncRecord.decode(stored.get()).members()).containsExactly("f1");
    done(set.replicate(5, 2, new byte[] {2}));

    // f2 comes back, asks with the writer's last batch: it joins again, and batches wait for it
    CompletableFuture<Boolean> joined = new CompletableFuture<>();
    MarkdownStore.Position last = new MarkdownStore.Position(5, 2);
    context.runOnContext(v -> set.caughtUp("f2", last, last).onComplete(ar -> joined.complete(ar.result())));
    assertThat(joined.get(30, TimeUnit.SECONDS)).isTrue();
    assertThat(InSyncRecord.decode(stored.get()).members()).containsExactlyInAnyOrder("f1", "f2");
    assertThat(set.view(2).encode()).contains("\"node\":\"f2\"").contains("following");
    assertThat(fenced).isFalse();
  }

  @Test
  void withTooFewFollowersInSyncABatchWaitsAndAFourthCopyStandsBy() throws Exception {
    follower("f1", true);
    follower("f2", true);
    follower("f3", true);
    ReplicaSet set = writer(new InSyncRecord(2, "w", Set.of()), 3);
    CompletableFuture<Void> first = set.replicate(2, 1, new byte[] {1});
    Thread.sleep(300);
    assertThat(first).as("no follower in sync yet").isNotDone();
    MarkdownStore.Position at = new MarkdownStore.Position(2, 1);
    for (String f : new String[] {"f1", "f2", "f3"}) {
      CompletableFuture<Boolean> joined = new CompletableFuture<>();
      context.runOnContext(v -> set.caughtUp(f, at, at).onComplete(ar -> joined.complete(ar.result())));
      joined.get(30, TimeUnit.SECONDS);
    }
    done(first);
    assertThat(InSyncRecord.decode(stored.get()).members()).hasSize(2);
    assertThat(set.view(1).encode()).contains("standby");
  }

  @Test
  void aFollowerOfANewerWriterOrAReplacedRecordFencesThisWriter() throws Exception {
    follower("f1", "stale", SECRET);
    ReplicaSet set = writer(new InSyncRecord(7, "w", Set.of("f1")), 3);
    assertThatThrownBy(() -> done(set.replicate(7, 1, new byte[] {1}))).isInstanceOf(ExecutionException.class)
      .cause().isInstanceOf(Failure.class).hasMessageContaining("no longer writes");
    awaitFenced();

    // a writer whose record another took over cannot drop its silent follower: fenced too
    fenced.set(false);
    follower("g1", false);
    ReplicaSet old = writer(new InSyncRecord(9, "w", Set.of("g1")), 3);
    stored.set(new InSyncRecord(10, "other", Set.of("g1")).encode());
    assertThatThrownBy(() -> done(old.replicate(9, 1, new byte[] {1}))).isInstanceOf(ExecutionException.class);
    awaitFenced();
  }

  /**
   * Issue 24: a member that answers batches in a follower's name (it registered a consumer on the
   * follower's address) without the secret acknowledges nothing: a batch waits for the real copy,
   * and one that says "stale" unsigned, or signed under another secret, does not stop the writer.
   */
  @Test
  void anAnswerNotSignedByTheFollowerAcknowledgesNothing() throws Exception {
    follower("fake", "ok", "another-secret".getBytes(StandardCharsets.UTF_8));
    vertx.eventBus().<Buffer>consumer(ReplicaAddresses.append("bare"), m -> m.reply(null))
      .completion().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    vertx.eventBus().<Buffer>consumer(ReplicaAddresses.append("liar"), m -> m.fail(Failure.Kind.STALE_WRITER
      .status(), "promised epoch 9")).completion().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    ReplicaSet set = writer(new InSyncRecord(5, "w", Set.of("fake", "bare", "liar")), 3);
    CompletableFuture<Void> first = set.replicate(5, 1, new byte[] {1});
    // every one of them leaves the set; with none left, the batch waits (writes held), and says so
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!InSyncRecord.decode(stored.get()).members().isEmpty() && System.nanoTime() < end) {
      Thread.sleep(20);
    }
    assertThat(InSyncRecord.decode(stored.get()).members()).isEmpty();
    assertThat(first).isNotDone();
    CompletableFuture<Boolean> held = new CompletableFuture<>();
    context.runOnContext(v -> held.complete(set.writesHeld()));
    assertThat(held.get(30, TimeUnit.SECONDS)).isTrue();
    assertThat(fenced).as("an unsigned 'stale' fences no writer").isFalse();

    // a real follower catches up: the batch is answered, writes are no longer held
    follower("real", true);
    MarkdownStore.Position at = new MarkdownStore.Position(5, 1);
    CompletableFuture<Boolean> joined = new CompletableFuture<>();
    context.runOnContext(v -> set.caughtUp("real", at, at).onComplete(ar -> joined.complete(ar.result())));
    assertThat(joined.get(30, TimeUnit.SECONDS)).isTrue();
    done(first);
    CompletableFuture<Boolean> ok = new CompletableFuture<>();
    context.runOnContext(v -> ok.complete(set.writesHeld()));
    assertThat(ok.get(30, TimeUnit.SECONDS)).isFalse();
  }

  /** The step-down callback runs right after the waiting batches are failed: wait for it. */
  private void awaitFenced() throws InterruptedException {
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!fenced.get() && System.nanoTime() < end) {
      Thread.sleep(10);
    }
    assertThat(fenced).isTrue();
  }
}
