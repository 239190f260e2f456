package dev.agenthub.governor.ledger;

import dev.agenthub.config.ConfigLoader;
import dev.agenthub.config.HubConfig;
import dev.agenthub.memory.MemoryClient;
import dev.agenthub.protocol.MessageAuth;
import dev.agenthub.testing.HubYaml;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonObject;
import io.vertx.core.shareddata.AsyncMap;
import io.vertx.ext.web.client.WebClient;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.charset.StandardCharsets;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;

/** A budget's alerts are raised once, whichever node (here: two raisers sharing a map) sees the spend first. */
@ExtendWith(VertxExtension.class)
class BudgetAlertsTest {

  private static final ZonedDateTime NOON = ZonedDateTime.of(2026, 12, 5, 12, 0, 0, 0, ZoneId.of("UTC"));

  /** Counts alerts; the rest is not this test's business. */
  private static final class Alerts implements LedgerEvents {
    final List<String> raised = new CopyOnWriteArrayList<>();

    @Override
    public void budgetAlert(String scope, double threshold) {
      raised.add(scope + "@" + threshold);
    }

    @Override
    public void audit(String type, JsonObject detail) {
    }


    @Override
    public void refused(String reason) {
    }






    @Override
    public void budgets(List<Spend.Budget> budgets) {
    }
  }

  @Test
  void eachThresholdIsRaisedOnceAcrossRaisersAndPostedToTheWebhook(Vertx vertx, VertxTestContext test) {
    List<JsonObject> posted = new CopyOnWriteArrayList<>();
    HttpServer hook = vertx.createHttpServer().requestHandler(req -> req.body().onSuccess(b -> {
      posted.add(b.toJsonObject());
      req.response().end();
    }));
    Alerts metrics = new Alerts();
    MemoryClient memory = new MemoryClient(vertx, MessageAuth.Signer.of("s".repeat(16).getBytes(StandardCharsets.UTF_8),
      MessageAuth.nodePrincipal("n1")), 1_000); // no memory writer here: the note is skipped
    hook.listen(0, "127.0.0.1").compose(server -> {
      HubConfig config = ConfigLoader.parse(HubYaml.yaml("ba", 0, """
        budgets: { monthly-usd: 1.0, alerts: [0.5, 0.8, 1.0], webhook: "http://127.0.0.1:%d/alert" }
        """.formatted(server.actualPort())));
      // 0.9 of the month's dollar spent: 50% and 80% crossed, 100% not yet
      Spend spend = Spend.compute(List.of(Spend.Row.of(Spend.Row.id("2026-12", "n1", "ops", "sim-small", "-",
        "2026-12-05", "-"), new JsonObject().put("usd", 0.9).put("calls", 1L))), config, NOON, Map.of());
      return vertx.sharedData().<String, Long>getAsyncMap("agenthub.budget-alerts").compose(map -> {
        BudgetAlerts a = raiser(vertx, map, metrics, memory, config);
        BudgetAlerts b = raiser(vertx, map, metrics, memory, config);
        return Future.all(a.raise(spend), b.raise(spend)).compose(v -> a.raise(spend));
      });
    }).onComplete(test.succeeding(v -> vertx.setPeriodic(100, id -> {
      if (posted.size() < 2) {
        return;
      }
      vertx.cancelTimer(id);
      test.verify(() -> {
        assertThat(metrics.raised).containsExactlyInAnyOrder("global@0.5", "global@0.8");
        assertThat(posted).extracting(p -> p.getDouble("threshold")).containsExactlyInAnyOrder(0.5, 0.8);
        assertThat(posted.get(0).getString("scope")).isEqualTo("global");
        test.completeNow();
      });
    })));
  }

  private static BudgetAlerts raiser(Vertx vertx, AsyncMap<String, Long> map, LedgerEvents metrics,
                                     MemoryClient memory, HubConfig config) {
    return new BudgetAlerts(map, metrics, memory, WebClient.create(vertx), config.budgets().webhook());
  }
}
