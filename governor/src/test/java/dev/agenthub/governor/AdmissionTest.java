package dev.agenthub.governor;

import dev.agenthub.agents.AgentSpec;
import dev.agenthub.config.ConfigLoader;
import dev.agenthub.config.HubConfig;
import dev.agenthub.governor.ledger.BudgetCounters;
import dev.agenthub.protocol.Failure;
import dev.agenthub.protocol.ModelCall;
import dev.agenthub.protocol.Priority;
import dev.agenthub.testing.Fixtures;
import dev.agenthub.testing.HubYaml;

import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * What a call must pass before it runs, without a cluster: the budget counters on a local map, a
 * client's tokens per minute in a local bucket. Every call here has a 1,000-token prompt (as its
 * agent counted it) and a 500-token output cap.
 */
@ExtendWith(VertxExtension.class)
class AdmissionTest {

  // 1,000 prompt and 500 output tokens at the dear model's $2.50 and $10 a million
  private static final double DEAR_HOLD = (1000 * 2.50 + 500 * 10.00) / 1e6;

  private final RecordingEvents events = new RecordingEvents();
  private Context context;

  @BeforeEach
  void context(Vertx vertx) {
    context = vertx.getOrCreateContext();
  }

  /** {@code cheap} falls back to {@code dear}; client {@code acme} may take 2,900 tokens a minute. */
  private static HubConfig config(String budgets) {
    return ConfigLoader.parse(HubYaml.node("adm", "general") + HubYaml.memoryYaml(Fixtures.freshDir())
      + "ledger: { dir: \"" + Fixtures.freshDir() + "\" }\n" + """
      providers: { sim: { type: sim, latency-ms: 0 } }
      models:
        cheap: { provider: sim, input: 0.15, output: 0.60, fallbacks: [dear] }
        dear: { provider: sim, input: 2.50, output: 10.00 }
        plain: { provider: sim, input: 0.15, output: 0.60 }
      agents:
        - { id: support, models: { routine: plain, complex: dear } }
      clients:
        - { id: acme, token-sha256: %s, agents: [support], tpm: 2900 }
      """.formatted("a".repeat(64)) + budgets);
  }

  private Admission admission(HubConfig config, BudgetCounters budgets) {
    // the client's bucket as the governor makes it on a node alone
    HubConfig.Client acme = config.clients().get(0);
    Map<String, Limiter> clientTpm = Map.of(acme.id(), new LocalLimiter(Admission.clientLimits(acme.tpm())));
    return new Admission(config, events, budgets, new TokenCounters(config), clientTpm);
  }

  private static ModelCall.Request request(String model, String client) {
    JsonArray messages = new JsonArray().add(new JsonObject().put("role", "user").put("content", "hello"));
    return new ModelCall.Request("support", model, messages, new JsonArray(), 500, Priority.INTERACTIVE, List.of(),
      null, 1000, client, null);
  }

  private static ModelCall.Reply reply(ModelCall.Usage usage, double usd) {
    return new ModelCall.Reply("hi", new JsonArray(), "cheap", usage, usd, false, 0, "sim", "stop");
  }

  private void onContext(Runnable step) {
    context.runOnContext(v -> step.run());
  }

  @Test
  void aCallWithNoBudgetAndNoClientLimitIsAdmittedAsItIs(Vertx vertx, VertxTestContext test) {
    HubConfig config = config("");
    Admission admission = admission(config, new BudgetCounters(vertx, null));
    AgentSpec agent = config.agent("support").orElseThrow();
    onContext(() -> admission.admit(request("cheap", null), agent, config.models().get("cheap"))
      .onComplete(test.succeeding(ticket -> test.verify(() -> {
        assertThat(ticket.model().id()).isEqualTo("cheap");
        assertThat(ticket.scopes()).isEmpty();
        assertThat(ticket.heldUsd()).isZero();
        assertThat(ticket.tpm()).isNull();
        test.completeNow();
      }))));
  }

  @Test
  void theHoldIsAtTheDearestModelOfTheChainAndSettlesIntoTheRealCost(Vertx vertx, VertxTestContext test) {
    HubConfig config = config("budgets: { monthly-usd: 10, on-exceed: block }\n");
    BudgetCounters budgets = new BudgetCounters(vertx, null);
    Admission admission = admission(config, budgets);
    AgentSpec agent = config.agent("support").orElseThrow();
    onContext(() -> admission.admit(request("cheap", null), agent, config.models().get("cheap"))
      .compose(ticket -> {
        test.verify(() -> assertThat(ticket.heldUsd()).isCloseTo(DEAR_HOLD, within(1e-15)));
        String global = ticket.scopes().get(0).key();
        return budgets.read(List.of(global))
          .compose(held -> {
            test.verify(() -> assertThat(held.get(global)[1]).isCloseTo(DEAR_HOLD, within(1e-15)));
            return admission.settle(ticket, reply(new ModelCall.Usage(1000, 0, 0, 40, 0), 0.001));
          })
          .compose(v -> budgets.read(List.of(global)))
          .map(settled -> settled.get(global));
      })
      .onComplete(test.succeeding(global -> test.verify(() -> {
        assertThat(global[0]).as("spent").isEqualTo(0.001);
        assertThat(global[1]).as("held").isZero();
        test.completeNow();
      }))));
  }

  @Test
  void aBudgetWithNoRoomBlocksTheCallAndSaysWhenItHasRoomAgain(Vertx vertx, VertxTestContext test) {
    HubConfig config = config("budgets: { monthly-usd: 0.001, on-exceed: block }\n");
    BudgetCounters budgets = new BudgetCounters(vertx, null);
    Admission admission = admission(config, budgets);
    AgentSpec agent = config.agent("support").orElseThrow();
    onContext(() -> admission.admit(request("plain", null), agent, config.models().get("dear"))
      .onComplete(test.failing(err -> test.verify(() -> {
        assertThat(err).isInstanceOfSatisfying(Failure.class, f -> {
          assertThat(f.kind()).isEqualTo(Failure.Kind.BUDGET_EXCEEDED);
          assertThat(f.getMessage()).contains("'global'").contains("on-exceed: block");
          // the seconds to the next month
          assertThat(f.retryAfterSeconds()).isBetween(1L, 31L * 86_400);
        });
        assertThat(events.refused).containsExactly("budget");
        assertThat(events.audits).containsExactly("budget_blocked");
        test.completeNow();
      }))));
  }

  @Test
  void aDowngradeBudgetGivesAComplexCallTheRoutineModel(Vertx vertx, VertxTestContext test) {
    // room for the routine model's hold, not for the complex one's
    HubConfig config = config("budgets: { monthly-usd: 0.005, on-exceed: downgrade }\n");
    Admission admission = admission(config, new BudgetCounters(vertx, null));
    AgentSpec agent = config.agent("support").orElseThrow();
    onContext(() -> admission.admit(request("dear", null), agent, config.models().get("dear"))
      .onComplete(test.succeeding(ticket -> test.verify(() -> {
        assertThat(ticket.model().id()).isEqualTo("plain");
        assertThat(ticket.heldUsd()).isCloseTo((1000 * 0.15 + 500 * 0.60) / 1e6, within(1e-15));
        assertThat(events.refused).isEmpty();
        test.completeNow();
      }))));
  }

  @Test
  void aClientOverItsTokensPerMinuteIsToldWhenToComeBackAndGetsUnusedTokensBack(Vertx vertx,
                                                                                 VertxTestContext test) {
    HubConfig config = config("");
    Admission admission = admission(config, new BudgetCounters(vertx, null));
    AgentSpec agent = config.agent("support").orElseThrow();
    HubConfig.Model plain = config.models().get("plain");
    // each call takes its prompt and its output cap, 1,500 of the 2,900 tokens: the second must wait
    onContext(() -> admission.admit(request("plain", "acme"), agent, plain)
      .compose(first -> admission.admit(request("plain", "acme"), agent, plain).transform(second -> {
        test.verify(() -> {
          assertThat(second.cause()).isInstanceOfSatisfying(Failure.class, f -> {
            assertThat(f.kind()).isEqualTo(Failure.Kind.RATE_LIMITED);
            assertThat(f.getMessage()).contains("client 'acme'");
            assertThat(f.retryAfterSeconds()).isPositive();
          });
          assertThat(events.refused).containsExactly("client_tpm");
        });
        // the first call used 1,040 of its 1,500 tokens: 460 come back, and a third call fits
        return admission.settle(first, reply(new ModelCall.Usage(1000, 0, 0, 40, 0), 0.0));
      }))
      .compose(v -> admission.admit(request("plain", "acme"), agent, plain))
      .onComplete(test.succeeding(third -> test.verify(() -> {
        assertThat(third.tokens()).isEqualTo(1500);
        assertThat(events.refused).hasSize(1);
        test.completeNow();
      }))));
  }
}
