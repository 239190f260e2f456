package dev.agenthub.hub;

import dev.agenthub.governor.ledger.Spend;
import dev.agenthub.hub.HubNode;
import dev.agenthub.testing.Fixtures;
import dev.agenthub.testing.HubYaml;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.offset;

/** Spend, budgets and alerts on a real node with the sim model and its configured prices. */
class LedgerTest {

  private static String yaml(Path memory, Path ledger, String budgets, String supportBudget, String webhook) {
    return HubYaml.node("led1", "general") + ("""
      memory: { dir: "%s" }
      ledger: { dir: "%s" }
      audit: { dir: "%s" }
      """ + HubYaml.simModels(0) + """
      agents:
        - { id: support, models: { routine: sim-small, complex: sim-large }, cache: true %s }
        - { id: ops, models: { routine: sim-small, complex: sim-large } }
      budgets: { %s, alerts: [0.5, 0.8, 1.0], webhook: "%s" }
      """).formatted(memory, ledger, Fixtures.freshDir(), supportBudget, budgets, webhook);
  }

  private static JsonObject send(HubNode node, String agent, String session, String text) throws Exception {
    HttpResponse<String> r = TestHub.post(node.url() + "/v1/agents/" + agent + "/messages",
      new JsonObject().put("session", session).put("text", text).encode());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return new JsonObject(r.body());
  }

  private static JsonObject spend(HubNode node) throws Exception {
    return new JsonObject(TestHub.get(node.url() + "/v1/spend").body());
  }

  @Test
  void answersCostWhatThePricesSayAndSpendAddsThemUpAcrossARestart() throws Exception {
    Path memory = Fixtures.freshDir();
    Path ledger = Fixtures.freshDir();
    String config = yaml(memory, ledger, "monthly-usd: 500, on-exceed: downgrade", "", "");
    HubNode node = TestHub.start(config);
    double sum = 0;
    try {
      for (int i = 0; i < 12; i++) {
        JsonObject r = send(node, i % 2 == 0 ? "support" : "ops", "cost-" + i, (i % 3 == 0 ? "/complex\n" : "")
          + "question " + i);
        JsonObject usage = r.getJsonObject("usage");
        double[] price = r.getString("model").equals("sim-large") ? new double[]{2.50, 10.00} : new double[]{0.15, 0.60};
        double expected = (usage.getLong("input_tokens") * price[0] + usage.getLong("output_tokens") * price[1]) / 1e6;
        assertThat(r.getDouble("cost_usd")).isCloseTo(expected, offset(1e-15));
        sum += r.getDouble("cost_usd");
        // the answer's cost is in /v1/spend by the time the answer is here
        assertThat(spend(node).getDouble("month_to_date_usd")).isCloseTo(sum, offset(1e-12));
      }
      JsonObject again = send(node, "support", "cost-other", "question 2");
      assertThat(again.getBoolean("cached")).isTrue();
      assertThat(again.getDouble("cost_usd")).isZero();
      JsonObject s = spend(node);
      assertThat(s.getDouble("month_to_date_usd")).isCloseTo(sum, offset(1e-12));
      assertThat(s.getJsonObject("by_agent").getDouble("support") + s.getJsonObject("by_agent").getDouble("ops"))
        .isCloseTo(sum, offset(1e-12));
      assertThat(s.getJsonObject("by_model").fieldNames()).containsExactlyInAnyOrder("sim-small", "sim-large");
      assertThat(s.getString("month")).matches("\\d{4}-\\d\\d");
      assertThat(s.getDouble("projected_usd")).isGreaterThanOrEqualTo(s.getDouble("month_to_date_usd"));
    } finally {
      node.close().await(1, TimeUnit.MINUTES);
    }
    HubNode restarted = TestHub.start(config);
    try {
      assertThat(spend(restarted).getDouble("month_to_date_usd")).isCloseTo(sum, offset(1e-12));
    } finally {
      restarted.close().await(1, TimeUnit.MINUTES);
    }
    // a full restart under new names (pods of a Deployment): the month comes back from every journal
    // in the directory, not only from the one of a node with the same name
    HubNode renamed = TestHub.start(config.replace("name: led1", "name: led-renamed"));
    try {
      assertThat(spend(renamed).getDouble("month_to_date_usd")).isCloseTo(sum, offset(1e-12));
      double more = send(renamed, "ops", "cost-renamed", "one more question").getDouble("cost_usd");
      assertThat(spend(renamed).getDouble("month_to_date_usd")).isCloseTo(sum + more, offset(1e-12));
    } finally {
      renamed.close().await(1, TimeUnit.MINUTES);
    }
  }

  @Test
  void eachThresholdAlertsOnceThenTheAgentIsDowngraded() throws Exception {
    Vertx vertx = Vertx.vertx();
    List<JsonObject> hooks = new CopyOnWriteArrayList<>();
    HttpServer hook = vertx.createHttpServer().requestHandler(req -> req.body().onSuccess(b -> {
      hooks.add(b.toJsonObject());
      req.response().end();
    })).listen(0, "127.0.0.1").await(30, TimeUnit.SECONDS);
    Path memory = Fixtures.freshDir();
    HubNode node = TestHub.start(yaml(memory, Fixtures.freshDir(), "monthly-usd: 100, on-exceed: downgrade",
      ", budget-usd: 0.0002", "http://127.0.0.1:" + hook.actualPort() + "/alerts"));
    try {
      for (int i = 0; i < 20; i++) {
        send(node, "support", "b-" + i, "a question that costs a little " + i);
      }
      Fixtures.await("the support budget is downgraded", Duration.ofSeconds(30), () -> {
        try {
          return spend(node).getJsonArray("budgets").stream().map(b -> (JsonObject) b)
            .anyMatch(b -> b.getString("scope").equals("agent:support") && b.getString("state").equals("downgraded"));
        } catch (Exception e) {
          return false;
        }
      });
      for (int i = 0; i < 5; i++) {
        send(node, "support", "more-" + i, "and more " + i);
      }
      JsonObject complex = send(node, "support", "downgraded", "/complex\nthis would go to the large model");
      assertThat(complex.getString("model")).isEqualTo("sim-small");
      assertThat(send(node, "ops", "ok", "/complex\nops is not over budget").getString("model")).isEqualTo("sim-large");

      Fixtures.await("three webhook alerts", Duration.ofSeconds(30), () -> hooks.size() >= 3);
      Thread.sleep(1500); // two more budget measures: no alert may repeat
      assertThat(hooks).extracting(h -> h.getDouble("threshold")).containsExactlyInAnyOrder(0.5, 0.8, 1.0);
      assertThat(hooks).allSatisfy(h -> assertThat(h.getString("scope")).isEqualTo("agent:support"));
      String metrics = TestHub.get(node.url() + "/metrics").body();
      assertThat(metrics).contains("agenthub_budget_alerts_total{scope=\"agent:support\",threshold=\"0.5\"} 1.0")
        .contains("agenthub_budget_alerts_total{scope=\"agent:support\",threshold=\"1.0\"} 1.0");
      Fixtures.await("alerts in shared memory", Duration.ofSeconds(30),
        () -> Files.exists(memory.resolve("spend/alerts.md")));
      assertThat(Files.readString(memory.resolve("spend/alerts.md"))).contains("agent:support reached 50%");
    } finally {
      node.close().await(1, TimeUnit.MINUTES);
      vertx.close().await(30, TimeUnit.SECONDS);
    }
  }

  @Test
  void aBlockedBudgetAnswers429WithAReason() throws Exception {
    HubNode node = TestHub.start(yaml(Fixtures.freshDir(), Fixtures.freshDir(), "monthly-usd: 0.0001, on-exceed: block",
      "", ""));
    try {
      for (int i = 0; i < 10; i++) {
        HttpResponse<String> r = TestHub.post(node.url() + "/v1/agents/ops/messages",
          new JsonObject().put("session", "x" + i).put("text", "spend " + i).encode());
        if (r.statusCode() == 429) {
          break;
        }
      }
      Fixtures.await("the global budget blocks", Duration.ofSeconds(30), () -> {
        try {
          HttpResponse<String> r = TestHub.post(node.url() + "/v1/agents/ops/messages",
            "{\"session\":\"blocked\",\"text\":\"one more\"}");
          // SDKs must not retry: the budget refuses again until it resets
          return r.statusCode() == 429 && r.body().contains("budget_exceeded") && r.headers().firstValue("retry-after").isPresent()
            && r.headers().firstValue("x-should-retry").orElse("").equals("false");
        } catch (Exception e) {
          return false;
        }
      });
      assertThat(spend(node).getJsonArray("budgets").getJsonObject(0).getString("state")).isEqualTo("blocked");
    } finally {
      node.close().await(1, TimeUnit.MINUTES);
    }
  }
}
