package dev.agenthub.governor;

import dev.agenthub.agents.AgentSpec;
import dev.agenthub.config.HubConfig;
import dev.agenthub.config.HubConfig.OnExceed;
import dev.agenthub.governor.ledger.BudgetCounters;
import dev.agenthub.governor.ledger.BudgetScope;
import dev.agenthub.protocol.Failure;
import dev.agenthub.protocol.ModelCall;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;

import java.time.ZonedDateTime;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * What a model call must pass before it runs, and gives back after: its client's tokens per minute
 * (a bucket kept like a key's) and a hold of its highest possible cost on every budget that applies
 * ({@link BudgetCounters}). No Vert.x context of its own: the governor drives it.
 */
final class Admission {

  private static final Logger LOG = Logger.getLogger(Admission.class.getName());

  /** What a call was admitted with: the model it may use, what it holds, and where to give it back. */
  record Ticket(HubConfig.Model model, List<BudgetScope> scopes, double heldUsd, Limiter tpm, long tokens) {
  }

  private final HubConfig config;
  private final GovernorEvents metrics;
  private final BudgetCounters budgets;
  private final TokenCounters counters;
  private final Map<String, Limiter> clientTpm;

  /** @param clientTpm each client's tokens-per-minute bucket (clients with a {@code tpm} only) */
  Admission(HubConfig config, GovernorEvents metrics, BudgetCounters budgets, TokenCounters counters,
            Map<String, Limiter> clientTpm) {
    this.config = config;
    this.metrics = metrics;
    this.budgets = budgets;
    this.counters = counters;
    this.clientTpm = clientTpm;
  }

  /**
   * The limits of a client's tokens-per-minute {@link Limiter}: a minute's tokens as burst, refilled
   * evenly; requests are not limited here ({@code client-rps} is).
   */
  static double[] clientLimits(int tpm) {
    return new double[]{1_000_000, tpm / 60.0, 1_000_000, tpm};
  }

  /** Takes the client's tokens, then holds the budgets; fails with a {@link Failure} when one says no. */
  Future<Ticket> admit(ModelCall.Request request, AgentSpec agent, HubConfig.Model model) {
    ZonedDateTime now = ZonedDateTime.now(config.budgets().zone());
    List<BudgetScope> scopes = agent == null ? List.of()
      : BudgetScope.applying(config, agent.id(), request.client(), now);
    Limiter tpm = request.client() == null ? null : clientTpm.get(request.client());
    // the prompt is counted once (when anything needs it): the TPM and the primary model's hold share it
    long input = scopes.isEmpty() && tpm == null ? 0 : inputTokens(request, model);
    long tokens = scopes.isEmpty() && tpm == null ? 0 : input + request.maxTokens();
    return takeClientTokens(request, tpm, tokens).compose(v -> hold(request, agent, model, input, scopes, now))
      .map(held -> new Ticket(held.model(), scopes, held.usd(), tpm, tokens));
  }

  /** Turns the hold into the real cost and gives back unused tokens; {@code reply} null for a failed call. */
  Future<Void> settle(Ticket ticket, ModelCall.Reply reply) {
    if (ticket.tpm() != null) {
      ticket.tpm().settle(ticket.tokens() - (reply == null ? 0 : reply.usage().input() + reply.usage().output()));
    }
    return budgets.settle(ticket.scopes(), ticket.heldUsd(), reply == null ? 0.0 : reply.costUsd())
      .onFailure(err -> LOG.log(Level.WARNING, "governor: a budget hold could not be settled", err));
  }

  private record Held(HubConfig.Model model, double usd) {
  }

  /** The prompt's tokens as the agent counted them, or counted here. */
  private long inputTokens(ModelCall.Request request, HubConfig.Model model) {
    return request.inputTokens() > 0 ? request.inputTokens()
      : counters.apply(model.id()).countMessages(request.messages());
  }

  private Future<Void> takeClientTokens(ModelCall.Request request, Limiter tpm, long tokens) {
    if (tpm == null) {
      return Future.succeededFuture();
    }
    return tpm.take(tokens).compose(waitNanos -> {
      if (waitNanos == 0) {
        return Future.succeededFuture();
      }
      metrics.refused("client_tpm");
      long seconds = Math.max(1, (waitNanos + 999_999_999L) / 1_000_000_000L);
      return Future.failedFuture(new Failure(Failure.Kind.RATE_LIMITED, "client '"
        + request.client() + "' is over its tokens per minute; try again in " + seconds + " s", null, seconds));
    });
  }

  /**
   * Holds the call's highest possible cost (its prompt and its whole output cap, at the dearest
   * model it may fall back to) against every budget that applies. When one would pass its limit:
   * with {@code on-exceed: block} the call is refused; with {@code downgrade} an agent's complex
   * model gives way to its routine one before the limit is crossed, and routine calls go on.
   */
  private Future<Held> hold(ModelCall.Request request, AgentSpec agent, HubConfig.Model model, long input,
                            List<BudgetScope> scopes, ZonedDateTime now) {
    if (scopes.isEmpty()) {
      return Future.succeededFuture(new Held(model, 0));
    }
    double usd = highestCost(request, model, input);
    return budgets.hold(scopes, usd, false).compose(refused -> {
      if (refused == null) {
        return Future.succeededFuture(new Held(model, usd));
      }
      if (config.budgets().onExceed() == OnExceed.DOWNGRADE) {
        HubConfig.Model routine = model.id().equals(agent.complexModel())
          ? config.models().get(agent.routineModel()) : model;
        double routineUsd = routine == model ? usd : highestCost(request, routine, inputTokens(request, routine));
        return budgets.hold(scopes, routineUsd, true).map(v -> new Held(routine, routineUsd));
      }
      metrics.refused("budget");
      metrics.audit("budget_blocked", new JsonObject().put("agent", agent.id()).put("model", model.id())
        .put("budget", refused.name()).put("client", request.client()));
      return Future.failedFuture(new Failure(Failure.Kind.BUDGET_EXCEEDED, String.format(Locale.ROOT,
        "budget '%s' ($%.2f for %s) has no room for this call (on-exceed: block)", refused.name(), refused.limitUsd(),
        refused.period()), null, refused.secondsLeft(now)));
    });
  }

  /** The call's cost at its dearest model: {@code input} prompt tokens and the whole output cap. */
  private double highestCost(ModelCall.Request request, HubConfig.Model model, long input) {
    double highest = model.cost(input, request.maxTokens());
    for (String fallback : model.fallbacks()) {
      HubConfig.Model m = config.models().get(fallback);
      if (m != null) {
        highest = Math.max(highest, m.cost(input, request.maxTokens()));
      }
    }
    return highest;
  }
}
