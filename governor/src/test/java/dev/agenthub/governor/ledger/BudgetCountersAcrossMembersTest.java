package dev.agenthub.governor.ledger;

import dev.agenthub.governor.LoopbackMembers;

import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.nio.serialization.genericrecord.GenericRecordBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The budget counters on two real Hazelcast members, used from the member that owns none of them:
 * every processor goes to the other member and every answer comes back, in Compact (the members
 * refuse Java deserialization of our classes), and the books come out as on one node.
 */
class BudgetCountersAcrossMembersTest {

  private static LoopbackMembers members;
  private static HazelcastInstance caller;
  private static HazelcastInstance owner;

  @BeforeAll
  static void start() throws Exception {
    members = new LoopbackMembers();
    caller = members.node();
    owner = members.node();
    members.awaitCluster(2);
  }

  @AfterAll
  static void stop() throws Exception {
    members.close();
  }

  /** A budget named {@code prefix} and a number, whose counter in {@code period} the owner holds. */
  private static BudgetScope ownedScope(String prefix, String period, double limitUsd) {
    for (int i = 0; i < 10_000; i++) {
      BudgetScope scope = new BudgetScope(prefix + i, period, limitUsd);
      if (LoopbackMembers.ownedBy(owner, scope.key())) {
        return scope;
      }
    }
    throw new AssertionError("no budget " + prefix + "* on the owner");
  }

  private static Map<String, double[]> read(BudgetCounters counters, BudgetScope... scopes) throws Exception {
    return counters.read(List.of(scopes).stream().map(BudgetScope::key).toList()).await(1, TimeUnit.MINUTES);
  }

  @Test
  void holdsSettleSeedAndReadOnTheMemberThatOwnsTheCounters() throws Exception {
    BudgetCounters counters = new BudgetCounters(members.vertx(), caller);
    BudgetScope client = ownedScope("client:c", "2026-12", 0.2);
    BudgetScope agent = ownedScope("agent:a", "2026-12", 1.0);
    List<BudgetScope> scopes = List.of(agent, client);

    assertThat(counters.hold(scopes, 0.15, false).await(1, TimeUnit.MINUTES)).isNull();
    // the client's 0.2 has 0.05 left: a second hold is refused by it, and holds nothing anywhere
    assertThat(counters.hold(scopes, 0.15, false).await(1, TimeUnit.MINUTES)).isEqualTo(client);
    Map<String, double[]> counted = read(counters, agent, client);
    assertThat(counted.get(agent.key())).containsExactly(0, 0.15, 0);
    assertThat(counted.get(client.key())).containsExactly(0, 0.15, 1);

    counters.settle(scopes, 0.15, 0.04).await(1, TimeUnit.MINUTES);
    // a seed never overwrites a counter the cluster holds; it starts one it does not
    BudgetScope fresh = ownedScope("agent:seeded", "2026-12", 1.0);
    counters.seed(Map.of(client.key(), 0.9, fresh.key(), 0.5)).await(1, TimeUnit.MINUTES);
    counted = read(counters, agent, client, fresh);
    assertThat(counted.get(agent.key())).containsExactly(0.04, 0, 0);
    assertThat(counted.get(client.key())).containsExactly(0.04, 0, 1);
    assertThat(counted.get(fresh.key())).containsExactly(0.5, 0, 0);
  }

  @Test
  void aSweepDropsTheHoldsOfMembersGoneAndTheCountersOfEndedPeriods() throws Exception {
    BudgetCounters counters = new BudgetCounters(members.vertx(), caller);
    BudgetScope current = ownedScope("agent:s", "2026-12", 1.0);
    BudgetScope ended = ownedScope("agent:s", "2026-11", 1.0);
    counters.hold(List.of(current), 0.3, false).await(1, TimeUnit.MINUTES);
    // a hold by a member that has left since, sent as its node sent it
    caller.<String, BudgetCounters.Counter>getMap(BudgetCounters.MAP)
      .submitToKey(current.key(), new BudgetCounters.Hold("a-member-gone", 0.2, Map.of(current.key(), 1.0), false))
      .toCompletableFuture().get(1, TimeUnit.MINUTES);
    counters.seed(Map.of(ended.key(), 0.5)).await(1, TimeUnit.MINUTES);
    assertThat(read(counters, current).get(current.key())).containsExactly(0, 0.5, 0);

    counters.sweep(Set.of("2026-12")).await(1, TimeUnit.MINUTES);
    Map<String, double[]> counted = read(counters, current, ended);
    assertThat(counted.get(current.key())).as("only the live member's hold is left").containsExactly(0, 0.3, 0);
    assertThat(counted.get(ended.key())).as("the ended period's counter is gone").containsExactly(0, 0, 0);
    assertThat(owner.getMap(BudgetCounters.MAP).containsKey(ended.key())).isFalse();
  }

  @Test
  void aCounterWrittenByItsNamesIsReadByTheProcessors() throws Exception {
    // as another version of agenthub would write it: the type and field names are the contract
    BudgetScope scope = ownedScope("client:named", "2026-12", 1.0);
    caller.<String, Object>getMap(BudgetCounters.MAP).put(scope.key(), GenericRecordBuilder
      .compact("agenthub.budget.counter").setFloat64("used", 0.5).setInt64("refusals", 2)
      .setArrayOfString("holders", new String[] {"h1", "h2"}).setArrayOfFloat64("heldUsd", new double[] {0.125, 0.25})
      .build());
    assertThat(read(new BudgetCounters(members.vertx(), caller), scope).get(scope.key())).containsExactly(0.5, 0.375, 2);
  }
}
