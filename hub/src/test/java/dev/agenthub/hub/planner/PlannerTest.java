package dev.agenthub.hub.planner;

import dev.agenthub.config.ConfigLoader;
import dev.agenthub.config.HubConfig;
import dev.agenthub.testing.Fixtures;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class PlannerTest {

  private static HubConfig defaults() throws Exception {
    return ConfigLoader.parse(Files.readString(Path.of("..", "conf", "hub.yaml")), "t", Map.of(),
      ConfigLoader.Overrides.none());
  }

  @Test
  void theDefaultsReproduceThePublishedRanges() throws Exception {
    HubConfig config = defaults();
    Planner.Prices prices = Planner.Prices.from(config);
    Planner.Profile d = Planner.Profile.defaults(3);
    Planner.Plan thousand = Planner.plan(d, prices);
    assertThat(thousand.mix()).isBetween(50.0, 150.0);
    Planner.Plan tenThousand = Planner.plan(new Planner.Profile(10_000, d.heartbeatMs(), 3, d.contextTokens(),
      d.outputTokens(), d.routineShare(), d.peakFactor()), prices);
    assertThat(tenThousand.mix()).isBetween(300.0, 800.0);
    // routing 80% of turns to the small model cuts 40-60% or more
    assertThat(thousand.savingPercent()).isGreaterThanOrEqualTo(40.0);
    assertThat(thousand.small()).isLessThan(thousand.mix()).isLessThan(thousand.large());
  }

  @Test
  void moreLoadNeedsMoreKeysAndNodes() throws Exception {
    Planner.Prices prices = Planner.Prices.from(defaults());
    Planner.Profile big = new Planner.Profile(50_000_000, 0, 3, 2_500, 250, 0.8, 3.0);
    Planner.Plan plan = Planner.plan(big, prices);
    assertThat(plan.peakRpm()).isEqualTo((long) Math.ceil(50_000_000 / 1440.0 * 3));
    assertThat(plan.keysNeeded()).isEqualTo((int) Math.ceil(plan.peakTpm() / 200_000.0));
    assertThat(plan.nodesNeeded()).isGreaterThan(1);
    assertThat(plan.storageGbPerMonth()).isGreaterThan(100);
  }

  @Test
  void theLedgerCalibratesTokensAndRoutineShare() throws Exception {
    Path dir = Fixtures.freshDir();
    String month = YearMonth.now(ZoneOffset.UTC).toString();
    StringBuilder lines = new StringBuilder();
    for (int i = 0; i < 10; i++) {
      lines.append(new JsonObject().put("month", month).put("model", i < 7 ? "sim-small" : "sim-large")
        .put("input", 1000).put("output", 100).put("cached", false).encode()).append('\n');
    }
    lines.append("{\"torn\":");
    Files.writeString(dir.resolve("n1.jsonl"), lines);
    Planner.Profile p = Planner.calibrate(Planner.Profile.defaults(3), dir, defaults());
    assertThat(p.contextTokens()).isEqualTo(1000);
    assertThat(p.outputTokens()).isEqualTo(100);
    assertThat(p.routineShare()).isEqualTo(0.7);
  }
}
