package dev.agenthub.governor.ledger;

import io.vertx.core.json.JsonObject;

import java.util.List;

/**
 * What the ledger reports to the node: refusals, budget alerts, the budgets' standing, audit lines.
 * The governor's {@code GovernorEvents} extends it; the node implements both over its one registry.
 */
public interface LedgerEvents {

  /** Writes an audit line (refusals, budget blocks), if the node keeps an audit log. */
  void audit(String type, JsonObject detail);

  /** A request refused, by reason ({@code identity}, {@code budget}, ...). */
  void refused(String reason);

  void budgetAlert(String scope, double threshold);

  /** The budgets as the ledger last measured them. */
  void budgets(List<Spend.Budget> budgets);
}
