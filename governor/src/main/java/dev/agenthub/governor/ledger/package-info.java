/**
 * The ledger: what model calls cost, kept per node in a journal and cluster-wide in a map
 * ({@link dev.agenthub.governor.ledger.LedgerVerticle}), the budgets that bound it
 * ({@link dev.agenthub.governor.ledger.BudgetScope}, {@link dev.agenthub.governor.ledger.BudgetCounters},
 * {@link dev.agenthub.governor.ledger.Spend}) and their alerts. See "The ledger and budgets" in
 * docs/ARCHITECTURE.md.
 */
package dev.agenthub.governor.ledger;
