package dev.agenthub.governor;

import dev.agenthub.governor.ledger.BudgetCounters;
import dev.agenthub.testing.Fixtures;

import com.hazelcast.config.CompactSerializationConfig;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;
import com.hazelcast.nio.serialization.genericrecord.GenericRecord;
import com.hazelcast.nio.serialization.genericrecord.GenericRecordBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.Serializable;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/**
 * A key's buckets on real Hazelcast members, taken from the member that does not own the key: the
 * processors go to the owner and the entry comes back, in Compact: Java deserialization of our
 * classes is refused, and a processor sent without its serializer fails. A lite member, as
 * users' applications join, has none of the serializers and never needs them.
 */
class ClusterLimiterAcrossMembersTest {

  /** A refill so slow that the buckets stay where the calls leave them while the test looks. */
  private static final double[] LIMITS = {0.001, 0.001, 3, 200};

  private static LoopbackMembers members;
  private static HazelcastInstance caller;
  private static HazelcastInstance owner;
  private static HazelcastInstance app;

  @BeforeAll
  static void start() throws Exception {
    members = new LoopbackMembers();
    caller = members.node();
    owner = members.node();
    app = members.liteApp();
    members.awaitCluster(3);
  }

  @AfterAll
  static void stop() throws Exception {
    members.close();
  }

  private static ClusterLimiter limiter(String key) {
    return new ClusterLimiter(caller.getMap(ClusterLimiter.MAP), key, LIMITS, members.vertx().getOrCreateContext());
  }

  @Test
  void takeAndSettleRunOnTheMemberThatOwnsTheKey() throws Exception {
    String key = LoopbackMembers.keyOwnedBy(owner, "key-");
    assertThat(LoopbackMembers.ownedBy(caller, key)).isFalse();
    ClusterLimiter limiter = limiter(key);
    assertThat(limiter.take(150).await(1, TimeUnit.MINUTES)).as("a fresh key starts full").isZero();
    assertThat(limiter.take(100).await(1, TimeUnit.MINUTES)).as("50 tokens left: the call waits").isPositive();
    // the first call used 100 tokens fewer than it reserved
    limiter.settle(100);
    Fixtures.await("the settle's answer (the requests left) comes back", Duration.ofSeconds(60),
      () -> limiter.headroom() < 1);
    assertThat(limiter.headroom()).isCloseTo(2.0 / 3, within(0.01));
    assertThat(limiter.take(100).await(1, TimeUnit.MINUTES)).isZero();

    ClusterLimiter.State state = caller.<String, ClusterLimiter.State>getMap(ClusterLimiter.MAP).get(key);
    assertThat(state.requests).isCloseTo(1, within(0.01));
    assertThat(state.tokens).isCloseTo(50, within(0.01));
  }

  @Test
  void anEntryWrittenByItsNamesIsReadByTheProcessors() throws Exception {
    // as another version of agenthub would write it: the type and field names are the contract
    String key = LoopbackMembers.keyOwnedBy(owner, "named-");
    caller.<String, Object>getMap(ClusterLimiter.MAP).put(key, GenericRecordBuilder.compact("agenthub.limiter.state")
      .setFloat64("requests", 0).setFloat64("tokens", 500).setInt64("lastMillis", System.currentTimeMillis()).build());
    assertThat(limiter(key).take(1).await(1, TimeUnit.MINUTES)).as("no request left").isPositive();
    ClusterLimiter.State state = caller.<String, ClusterLimiter.State>getMap(ClusterLimiter.MAP).get(key);
    assertThat(state.tokens).as("refilled up to the bucket's size").isEqualTo(200);
  }

  @Test
  void everyClassSentHasACompactSerializerUnderANameThatNeverChanges() {
    assertThat(GovernorSerializers.all()).extracting(s -> s.getTypeName() + " " + s.getCompactClass().getSimpleName())
      .containsExactlyInAnyOrder("agenthub.limiter.state State", "agenthub.limiter.take Take",
        "agenthub.limiter.settle Settle", "agenthub.budget.counter Counter", "agenthub.budget.hold Hold",
        "agenthub.budget.settle Settle", "agenthub.budget.seed Seed", "agenthub.budget.read Read",
        "agenthub.budget.sweep Sweep");
    // the entries are not Serializable; the processors are, by Hazelcast's EntryProcessor: see below
    assertThat(Serializable.class.isAssignableFrom(ClusterLimiter.State.class)).isFalse();
    assertThat(Serializable.class.isAssignableFrom(BudgetCounters.Counter.class)).isFalse();
  }

  @Test
  void aProcessorSentByJavaSerializationIsRefused() throws Exception {
    // the application has no Compact serializer for Take, so Hazelcast falls back to Java
    // serialization (EntryProcessor is Serializable): the owner refuses it. So the processors that
    // work in the other tests crossed as Compact.
    String key = LoopbackMembers.keyOwnedBy(owner, "java-take-");
    ClusterLimiter fromApp = new ClusterLimiter(app.getMap(ClusterLimiter.MAP), key, LIMITS, members.vertx().getOrCreateContext());
    assertThatThrownBy(() -> fromApp.take(1).await(1, TimeUnit.MINUTES)).hasRootCauseInstanceOf(SecurityException.class);
  }

  @Test
  void aClassOfOursSentByJavaSerializationIsRefused() {
    String key = LoopbackMembers.keyOwnedBy(owner, "java-");
    IMap<String, Object> map = caller.getMap("agenthub.test.java-serialized");
    map.put(key, new JavaSerialized());
    assertThatThrownBy(() -> map.get(key)).hasRootCauseInstanceOf(SecurityException.class);
  }

  @Test
  void aLiteMemberWithoutTheSerializersStaysInTheCluster() throws Exception {
    String key = LoopbackMembers.keyOwnedBy(owner, "app-");
    assertThat(app.getConfig().getSerializationConfig().getCompactSerializationConfig())
      .isEqualTo(new CompactSerializationConfig());
    assertThat(limiter(key).take(1).await(1, TimeUnit.MINUTES)).isZero();
    assertThat(app.getCluster().getMembers()).hasSize(3);
    // it owns no partition, so it never runs a processor; were it to read an entry, it gets the record
    assertThat(app.getMap(ClusterLimiter.MAP).get(key)).isInstanceOf(GenericRecord.class);
  }

  /** What the rule forbids in main code, here to show the members refuse it. */
  static final class JavaSerialized implements Serializable {
    private static final long serialVersionUID = 1L;
  }
}
