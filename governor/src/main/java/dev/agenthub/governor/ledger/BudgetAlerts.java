package dev.agenthub.governor.ledger;

import dev.agenthub.memory.MemoryClient;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.core.shareddata.AsyncMap;
import io.vertx.ext.web.client.WebClient;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.logging.Logger;

/**
 * A budget's alerts, each raised once for the whole cluster: the first node to mark a threshold
 * crossed in {@code agenthub.budget-alerts} logs it, counts it, notes it in {@code spend/alerts.md}
 * and POSTs it to {@code budgets.webhook}; the others see the mark and stay quiet.
 */
final class BudgetAlerts {

  private static final Logger LOG = Logger.getLogger(BudgetAlerts.class.getName());

  private final AsyncMap<String, Long> raised;
  private final LedgerEvents metrics;
  private final MemoryClient memory;
  private final WebClient web;
  private final String webhook;

  BudgetAlerts(AsyncMap<String, Long> raised, LedgerEvents metrics, MemoryClient memory, WebClient web,
               String webhook) {
    this.raised = raised;
    this.metrics = metrics;
    this.memory = memory;
    this.web = web;
    this.webhook = webhook;
  }

  /** Raises every threshold the spend crossed that no node raised yet. */
  Future<Void> raise(Spend spend) {
    List<Future<Void>> alerts = new ArrayList<>();
    for (Spend.Budget b : spend.budgets()) {
      for (double threshold : b.alertsRaised()) {
        String key = BudgetScope.key(b.period(), b.scope()) + "|" + threshold;
        alerts.add(raised.putIfAbsent(key, System.currentTimeMillis())
          .compose(previous -> previous == null ? alert(b.period(), b, threshold) : Future.succeededFuture()));
      }
    }
    return Future.join(alerts).mapEmpty();
  }

  private Future<Void> alert(String period, Spend.Budget b, double threshold) {
    String text = String.format(Locale.ROOT, "budget %s reached %.0f%% of $%.2f in %s ($%.4f spent)%s",
      b.scope(), threshold * 100, b.limitUsd(), period, b.usedUsd(),
      threshold >= 1.0 ? ": " + b.state() : "");
    LOG.warning("budget alert: " + text);
    metrics.budgetAlert(b.scope(), threshold);
    Future<?> note = memory.append("spend/alerts.md", "ledger", text).otherwise((JsonObject) null);
    if (webhook != null && !webhook.isBlank()) {
      JsonObject payload = new JsonObject().put("period", period).put("scope", b.scope()).put("threshold", threshold)
        .put("limit_usd", b.limitUsd()).put("used_usd", b.usedUsd()).put("state", b.state()).put("text", text);
      web.postAbs(webhook).timeout(10_000).sendJsonObject(payload)
        .onFailure(err -> LOG.warning("budget alert webhook failed: " + err.getMessage()));
    }
    return note.mapEmpty();
  }
}
