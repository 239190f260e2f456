package dev.agenthub.hub;

import dev.agenthub.config.ConfigException;
import dev.agenthub.config.ConfigLoader;
import dev.agenthub.governor.ledger.BudgetScope;
import dev.agenthub.hub.HubNode;
import dev.agenthub.testing.Fixtures;
import dev.agenthub.testing.HubYaml;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Budgets held before each call: never passed under concurrent load on several nodes, per client,
 * per day in the configured zone, and each client's tokens per minute. Real nodes, a real cluster.
 */
class BudgetTest {

  // prices that make a few calls reach a small budget: a call holds its prompt plus 64 output tokens
  private static final String MODELS = """
    providers: { sim: { type: sim, latency-ms: 40 } }
    models:
      sim-large: { provider: sim, input: 20.00, output: 20.00 }
      sim-small: { provider: sim, input: 20.00, output: 20.00 }
    """;

  private static String node(String name) {
    return "node: { name: %s, roles: [general], http: { port: 0, max-body: 4KiB, request-timeout: 60s, client-rps: 0 } }\n"
      .formatted(name);
  }

  private static String ledger() {
    return "ledger: { dir: \"" + Fixtures.freshDir() + "\" }\naudit: { dir: \"" + Fixtures.freshDir() + "\" }\n";
  }

  private static String sha256(String s) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
  }

  private static JsonObject spend(HubNode node, String token) throws Exception {
    HttpResponse<String> r = token == null ? TestHub.get(node.url() + "/v1/spend")
      : TestHub.get(node.url() + "/v1/spend", token);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return new JsonObject(r.body());
  }

  private static JsonObject budget(JsonObject spend, String scope) {
    return spend.getJsonArray("budgets").stream().map(b -> (JsonObject) b).filter(b -> b.getString("scope").equals(scope))
      .findFirst().orElseThrow(() -> new AssertionError("no budget " + scope + " in " + spend.encode()));
  }

  private static CompletableFuture<HttpResponse<String>> post(HubNode node, String agent, String session, String text,
                                                               String token) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(node.url() + "/v1/agents/" + agent + "/messages"))
      .timeout(Duration.ofSeconds(120)).header("Content-Type", "application/json")
      .POST(HttpRequest.BodyPublishers.ofString(new JsonObject().put("session", session).put("text", text).encode()));
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    return TestHub.HTTP.sendAsync(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  /** Counts an answer ({@code counts[0]}) or a budget's refusal ({@code counts[1]}), checking the refusal. */
  private static synchronized void count(HttpResponse<String> r, int[] counts) {
    if (r.statusCode() == 200) {
      counts[0]++;
      return;
    }
    assertThat(r.statusCode()).as(r.body()).isEqualTo(429);
    assertThat(r.body()).contains("budget_exceeded").contains("'global'");
    assertThat(r.headers().firstValue("x-should-retry")).hasValue("false");
    // try again when the month ends, not in an hour
    long retry = Long.parseLong(r.headers().firstValue("retry-after").orElseThrow());
    assertThat(retry).isGreaterThan(0).isLessThanOrEqualTo(31L * 86_400);
    counts[1]++;
  }

  @Test
  void aBlockBudgetIsNeverPassedByConcurrentCallsOnTwoNodes() throws Exception {
    String cluster = "budget-" + UUID.randomUUID();
    int port = Fixtures.randomBasePort();
    String shared = HubYaml.clusterYaml(cluster, port) + HubYaml.memoryYaml(Fixtures.freshDir()) + MODELS + """
      agents:
        - { id: ops, instances: 2, models: { routine: sim-small, complex: sim-small }, cache: false,
            limits: { output-tokens: 64, max-concurrent: 200 } }
      budgets: { monthly-usd: 0.02, on-exceed: block }
      """;
    HubNode a = TestHub.start(node("bud-a") + ledger() + shared);
    HubNode b = null;
    try {
      b = TestHub.start(node("bud-b") + ledger() + shared);
      HubNode nb = b;
      Fixtures.await("both nodes see each other", Duration.ofSeconds(60), () -> {
        try {
          return new JsonObject(TestHub.get(a.url() + "/v1/cluster").body()).getJsonArray("nodes").size() == 2
            && new JsonObject(TestHub.get(nb.url() + "/v1/cluster").body()).getJsonArray("nodes").size() == 2;
        } catch (Exception e) {
          return false;
        }
      });
      // a burst of 200 at once across both nodes, then closed loops until the budget is used up
      List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
      for (int i = 0; i < 200; i++) {
        all.add(post(i % 2 == 0 ? a : b, "ops", "s" + i, "a question that costs money " + i, null));
      }
      int[] counts = new int[2];
      for (CompletableFuture<HttpResponse<String>> f : all) {
        count(f.get(3, TimeUnit.MINUTES), counts);
      }
      assertThat(counts[1]).as("the burst is refused past what the budget can pay").isGreaterThan(100);
      List<CompletableFuture<Void>> loops = new ArrayList<>();
      for (int l = 0; l < 20; l++) {
        HubNode target = l % 2 == 0 ? a : nb;
        int loop = l;
        loops.add(CompletableFuture.runAsync(() -> {
          for (int i = 0; i < 10; i++) {
            try {
              count(post(target, "ops", "loop" + loop + "-" + i, "another question " + i, null).get(2, TimeUnit.MINUTES),
                counts);
            } catch (Exception e) {
              throw new IllegalStateException(e);
            }
          }
        }));
      }
      CompletableFuture.allOf(loops.toArray(CompletableFuture[]::new)).get(5, TimeUnit.MINUTES);
      assertThat(counts[0]).as("the budget pays for some calls").isGreaterThan(3);

      // spend never passes the limit, on either node's view, and every hold is settled
      for (HubNode n : List.of(a, b)) {
        Fixtures.await("the holds are settled", Duration.ofSeconds(30), () -> {
          try {
            return budget(spend(n, null), "global").getDouble("held_usd") < 1e-12;
          } catch (Exception e) {
            return false;
          }
        });
        JsonObject s = spend(n, null);
        // never past the limit, and used up to within about one call's hold of it
        assertThat(s.getDouble("month_to_date_usd")).isLessThanOrEqualTo(0.02).isGreaterThan(0.012);
        JsonObject global = budget(s, "global");
        assertThat(global.getString("state")).isEqualTo("blocked");
        assertThat(global.getDouble("used_usd")).isLessThanOrEqualTo(0.02);
      }
      String metrics = TestHub.get(a.url() + "/metrics").body();
      assertThat(metrics).contains("agenthub_budget_used_ratio{scope=\"global\"}")
        .contains("agenthub_budget_held_usd{scope=\"global\"}");
    } finally {
      if (b != null) {
        b.close().await(1, TimeUnit.MINUTES);
      }
      a.close().await(1, TimeUnit.MINUTES);
    }
  }

  @Test
  void aClientOverItsBudgetIsRefusedWhileAnotherGoesOn() throws Exception {
    String yaml = node("bud-c") + ledger() + HubYaml.memoryYaml(Fixtures.freshDir()) + MODELS + """
      agents:
        - { id: ops, models: { routine: sim-small, complex: sim-small }, cache: false, limits: { output-tokens: 64 } }
      budgets: { daily-usd: 50, time-zone: Pacific/Kiritimati, on-exceed: block }
      clients:
        - { id: acme, token-sha256: %s, agents: [ops], budget-usd: 0.006 }
        - { id: beta, token-sha256: %s, agents: [ops] }
        - { id: admin, token-sha256: %s, agents: "*", admin: true }
      """.formatted(sha256("acme-token"), sha256("beta-token"), sha256("admin-token"));
    HubNode node = TestHub.start(yaml);
    try {
      HttpResponse<String> refused = null;
      for (int i = 0; i < 40 && refused == null; i++) {
        HttpResponse<String> r = post(node, "ops", "a" + i, "acme asks " + i, "acme-token").get(1, TimeUnit.MINUTES);
        if (r.statusCode() != 200) {
          refused = r;
        }
      }
      assertThat(refused).as("acme reaches its budget: " + spend(node, "admin-token").encode()).isNotNull();
      assertThat(refused.statusCode()).isEqualTo(429);
      assertThat(refused.body()).contains("budget_exceeded").contains("client:acme");
      // another client goes on
      HttpResponse<String> beta = post(node, "ops", "b1", "beta asks", "beta-token").get(1, TimeUnit.MINUTES);
      assertThat(beta.statusCode()).as(beta.body()).isEqualTo(200);

      // a client sees its own spend and budget, nothing of the others'
      JsonObject own = spend(node, "acme-token");
      assertThat(own.getString("client")).isEqualTo("acme");
      assertThat(own.getDouble("month_to_date_usd")).isGreaterThan(0).isLessThanOrEqualTo(0.006);
      assertThat(own.getJsonArray("budgets")).hasSize(1);
      assertThat(own.getJsonArray("budgets").getJsonObject(0).getString("scope")).isEqualTo("client:acme");
      assertThat(own.encode()).doesNotContain("beta").doesNotContain("\"day\"");
      JsonObject s = spend(node, "admin-token");
      JsonObject acme = budget(s, "client:acme");
      assertThat(acme.getDouble("used_usd")).isLessThanOrEqualTo(0.006).isGreaterThan(0);
      assertThat(acme.getString("state")).isEqualTo("blocked");
      assertThat(s.getJsonObject("by_client").getDouble("beta")).isGreaterThan(0);
      // the day is Kiritimati's (UTC+14), shown with its period
      JsonObject day = budget(s, "day");
      assertThat(day.getString("period")).isEqualTo(ZonedDateTime.now(ZoneId.of("Pacific/Kiritimati"))
        .toLocalDate().toString());
      assertThat(day.getDouble("used_usd")).isCloseTo(s.getDouble("month_to_date_usd"),
        org.assertj.core.data.Offset.offset(1e-9));
    } finally {
      node.close().await(1, TimeUnit.MINUTES);
    }
  }

  @Test
  void aClientOverItsTokensPerMinuteWaitsWhileAnotherGoesOn() throws Exception {
    String yaml = node("bud-t") + ledger() + HubYaml.memoryYaml(Fixtures.freshDir()) + MODELS + """
      agents:
        - { id: ops, models: { routine: sim-small, complex: sim-small }, cache: false, limits: { output-tokens: 64 } }
      clients:
        - { id: acme, token-sha256: %s, agents: [ops], tpm: 300 }
        - { id: beta, token-sha256: %s, agents: [ops] }
      """.formatted(sha256("acme-token"), sha256("beta-token"));
    HubNode node = TestHub.start(yaml);
    try {
      HttpResponse<String> limited = null;
      for (int i = 0; i < 20 && limited == null; i++) {
        HttpResponse<String> r = post(node, "ops", "t" + i, "acme asks " + i, "acme-token").get(1, TimeUnit.MINUTES);
        if (r.statusCode() != 200) {
          limited = r;
        }
      }
      assertThat(limited).as("acme passes its 300 tokens a minute").isNotNull();
      assertThat(limited.statusCode()).isEqualTo(429);
      assertThat(limited.body()).contains("rate_limit_exceeded").contains("acme");
      assertThat(Long.parseLong(limited.headers().firstValue("retry-after").orElseThrow())).isBetween(1L, 60L);
      HttpResponse<String> beta = post(node, "ops", "b1", "beta asks", "beta-token").get(1, TimeUnit.MINUTES);
      assertThat(beta.statusCode()).as(beta.body()).isEqualTo(200);
    } finally {
      node.close().await(1, TimeUnit.MINUTES);
    }
  }

  @Test
  void aBudgetResetsAtItsZonesMidnightAndABadZoneIsAClearError() {
    ZonedDateTime late = ZonedDateTime.of(2026, 12, 31, 23, 59, 30, 0, ZoneId.of("Europe/Berlin"));
    BudgetScope day = new BudgetScope("day", BudgetScope.day(late), 1);
    BudgetScope month = new BudgetScope("global", BudgetScope.month(late), 1);
    assertThat(day.key()).isEqualTo("2026-12-31|day");
    assertThat(month.key()).isEqualTo("2026-12|global");
    assertThat(day.secondsLeft(late)).isEqualTo(30);
    assertThat(month.secondsLeft(late)).isEqualTo(30);
    // the next second is a new period: a new counter
    assertThat(BudgetScope.day(late.plusSeconds(31))).isEqualTo("2027-01-01");
    assertThatThrownBy(() -> ConfigLoader.parse(HubYaml.yaml("z", 0, "budgets: { time-zone: Mars/Olympus }\n")))
      .isInstanceOf(ConfigException.class).hasMessageContaining("budgets.time-zone")
      .hasMessageContaining("not a time zone");
  }
}
