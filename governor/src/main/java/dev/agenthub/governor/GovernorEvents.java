package dev.agenthub.governor;

import dev.agenthub.governor.ledger.Spend;

import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.json.JsonObject;

import java.util.List;

/**
 * What the governor and the ledger report to the node: the meters of "Contract: metric names" that
 * are theirs, and audit lines. The node implements it over its one registry and audit log.
 */
public interface GovernorEvents {

  /** Writes an audit line (refusals, budget blocks), if the node keeps an audit log. */
  void audit(String type, JsonObject detail);

  /** The node's registry, for the gauges of key pools and lanes. */
  MeterRegistry registry();

  /** A request refused, by reason ({@code rate_limited}, {@code budget_exceeded}, ...). */
  void refused(String reason);

  void rateLimitWait(String key, long nanos);

  void cacheHit(String model);

  void fallback(String model, String fallback);

  void modelCall(String agent, String model, String provider, String outcome, long nanos);

  void usage(String agent, String model, long input, long output, double usd);

  void budgetAlert(String scope, double threshold);

  /** The budgets as the ledger last measured them. */
  void budgets(List<Spend.Budget> budgets);
}
