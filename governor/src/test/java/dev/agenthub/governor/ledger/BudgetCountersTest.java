package dev.agenthub.governor.ledger;

import dev.agenthub.config.ConfigLoader;
import dev.agenthub.config.HubConfig;
import dev.agenthub.testing.HubYaml;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The budget counters without a cluster (the same entry processors run on a local map) and the
 * spend measured against them: holds are all or none, settle into the real cost, and a budget
 * that refused a call shows as reached.
 */
@ExtendWith(VertxExtension.class)
class BudgetCountersTest {

  private static final ZonedDateTime NOON = ZonedDateTime.of(2026, 12, 5, 12, 0, 0, 0, ZoneId.of("UTC"));

  private static HubConfig config() {
    return ConfigLoader.parse(HubYaml.yaml("bc", 0, """
      budgets: { monthly-usd: 1.0, daily-usd: 0.5, on-exceed: block }
      clients:
        - { id: acme, token-sha256: %s, agents: [ops], budget-usd: 0.2 }
      """.formatted("a".repeat(64))));
  }

  @Test
  void aHoldIsAllOrNoneAndSettlesIntoTheRealCost(Vertx vertx, VertxTestContext test) {
    HubConfig config = config();
    BudgetCounters counters = new BudgetCounters(vertx, null);
    List<BudgetScope> scopes = BudgetScope.applying(config, "ops", "acme", NOON);
    assertThat(scopes).extracting(BudgetScope::name).containsExactly("global", "day", "client:acme");
    counters.hold(scopes, 0.15, false)
      .compose(refused -> {
        assertThat(refused).isNull();
        // the client's 0.2 has 0.05 left: a second hold of 0.15 is refused by it, and holds nothing anywhere
        return counters.hold(scopes, 0.15, false);
      })
      .compose(refused -> {
        assertThat(refused.name()).isEqualTo("client:acme");
        assertThat(refused.secondsLeft(NOON)).isEqualTo(26L * 86_400 + 12 * 3_600);
        return counters.read(scopes.stream().map(BudgetScope::key).toList());
      })
      .compose(read -> {
        assertThat(read.get("2026-12|global")).containsExactly(0, 0.15, 0);
        assertThat(read.get("2026-12|client:acme")).containsExactly(0, 0.15, 1);
        // the answer cost less than its hold: the rest is free again
        return counters.settle(scopes, 0.15, 0.04);
      })
      .compose(v -> counters.hold(scopes, 0.15, false))
      .compose(refused -> {
        assertThat(refused).isNull();
        return counters.read(scopes.stream().map(BudgetScope::key).toList());
      })
      .onComplete(test.succeeding(read -> test.verify(() -> {
        assertThat(read.get("2026-12|client:acme")[0]).isEqualTo(0.04);
        assertThat(read.get("2026-12|client:acme")[1]).isEqualTo(0.15);
        // the spend shows the budget reached once it refused a call, with what is held
        Spend spend = Spend.compute(List.of(), config, NOON, read);
        Spend.Budget client = spend.budgets().stream().filter(b -> b.scope().equals("client:acme")).findFirst()
          .orElseThrow();
        assertThat(client.state()).isEqualTo("blocked");
        assertThat(client.heldUsd()).isEqualTo(0.15);
        JsonObject json = spend.toJson();
        assertThat(json.getJsonArray("budgets").getJsonObject(1).getString("period")).isEqualTo("2026-12-05");
        test.completeNow();
      })));
  }

  @Test
  void aForcedHoldPassesTheLimitAndASeedNeverOverwrites(Vertx vertx, VertxTestContext test) {
    HubConfig config = config();
    BudgetCounters counters = new BudgetCounters(vertx, null);
    List<BudgetScope> scopes = BudgetScope.applying(config, "ops", null, NOON);
    counters.seed(Map.of("2026-12|global", 0.9))
      .compose(v -> counters.seed(Map.of("2026-12|global", 0.1)))
      .compose(v -> counters.hold(scopes, 0.2, false))
      .compose(refused -> {
        assertThat(refused.name()).isEqualTo("global");
        return counters.hold(scopes, 0.2, true);
      })
      .compose(refused -> {
        assertThat(refused).isNull();
        return counters.read(List.of("2026-12|global"));
      })
      .onComplete(test.succeeding(read -> test.verify(() -> {
        assertThat(read.get("2026-12|global")[0]).isEqualTo(0.9);
        assertThat(read.get("2026-12|global")[1]).isEqualTo(0.2);
        test.completeNow();
      })));
  }
}
