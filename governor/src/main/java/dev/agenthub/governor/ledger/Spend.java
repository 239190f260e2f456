package dev.agenthub.governor.ledger;

import dev.agenthub.config.HubConfig;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.time.YearMonth;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Month-to-date spend from the cluster's ledger rows, and every budget measured against it (with the
 * money held for calls in flight). Plain data: the ledger verticle feeds it rows and holds,
 * {@code /v1/spend}, the dashboard, the metrics and the alerts read it.
 */
public final class Spend {

  /** One row: {@code month|node|agent|model|key|day|client} and its totals. */
  record Row(String month, String node, String agent, String model, String key, String day, String client,
             double usd, long input, long output, long calls, long cached) {

    static String id(String month, String node, String agent, String model, String key, String day, String client) {
      return String.join("|", month, node, agent, model, key, day, client);
    }

    static Row of(String id, JsonObject totals) {
      String[] p = id.split("\\|", -1);
      return new Row(p[0], p[1], p[2], p[3], p[4], p[5], p.length > 6 ? p[6] : "-", totals.getDouble("usd", 0.0),
        totals.getLong("input", 0L), totals.getLong("output", 0L), totals.getLong("calls", 0L),
        totals.getLong("cached", 0L));
    }
  }

  /** One budget's standing: spent (from the ledger) and held for calls in flight (from the counters). */
  public record Budget(String scope, String period, double limitUsd, double usedUsd, double heldUsd,
                       List<Double> alertsRaised, String state) {
    JsonObject toJson() {
      return new JsonObject().put("scope", scope).put("period", period).put("limit_usd", limitUsd)
        .put("used_usd", usedUsd).put("held_usd", heldUsd).put("used_ratio", ratio())
        .put("alerts_raised", new JsonArray(alertsRaised)).put("state", state);
    }

    /** Spent over limit (1 when the limit is 0 and anything was spent). */
    public double ratio() {
      return limitUsd > 0 ? usedUsd / limitUsd : usedUsd > 0 ? 1.0 : 0.0;
    }
  }

  private final String month;
  private final double total;
  private final double projected;
  private final Map<String, Double> byAgent;
  private final Map<String, Double> byModel;
  private final Map<String, Double> byDay;
  private final Map<String, Double> byKey;
  private final Map<String, Double> byClient;
  private final List<Budget> budgets;

  private Spend(String month, double total, double projected, Map<String, Double> byAgent, Map<String, Double> byModel,
                Map<String, Double> byDay, Map<String, Double> byKey, Map<String, Double> byClient,
                List<Budget> budgets) {
    this.month = month;
    this.total = total;
    this.projected = projected;
    this.byAgent = byAgent;
    this.byModel = byModel;
    this.byDay = byDay;
    this.byKey = byKey;
    this.byClient = byClient;
    this.budgets = budgets;
  }

  /**
   * @param now  the time in the budgets' zone
   * @param counters each budget's counter ({@code [used, held, refusals]}, see {@link BudgetCounters}), by
   *                 {@link BudgetScope#key()}
   */
  static Spend compute(List<Row> rows, HubConfig config, ZonedDateTime now, Map<String, double[]> counters) {
    String month = BudgetScope.month(now);
    double total = 0;
    Map<String, Double> byAgent = new TreeMap<>();
    Map<String, Double> byModel = new TreeMap<>();
    Map<String, Double> byDay = new TreeMap<>();
    Map<String, Double> byKey = new TreeMap<>();
    Map<String, Double> byClient = new TreeMap<>();
    Map<String, Double> byAgentDay = new TreeMap<>();
    for (Row r : rows) {
      if (!r.month().equals(month)) {
        continue;
      }
      total += r.usd();
      byAgent.merge(r.agent(), r.usd(), Double::sum);
      byModel.merge(r.model(), r.usd(), Double::sum);
      byDay.merge(r.day(), r.usd(), Double::sum);
      byKey.merge(r.key(), r.usd(), Double::sum);
      if (!r.client().equals("-")) {
        byClient.merge(r.client(), r.usd(), Double::sum);
      }
      byAgentDay.merge(r.agent() + "|" + r.day(), r.usd(), Double::sum);
    }
    YearMonth ym = YearMonth.from(now);
    double elapsedDays = Math.max(1.0, (now.toEpochSecond() - ym.atDay(1).atStartOfDay(now.getZone()).toEpochSecond())
      / 86_400.0);
    double projected = total / elapsedDays * ym.lengthOfMonth();
    List<Budget> budgets = new ArrayList<>();
    for (BudgetScope s : BudgetScope.all(config, now)) {
      String name = s.name();
      double used;
      if (name.equals("global")) {
        used = total;
      } else if (name.equals("day")) {
        used = byDay.getOrDefault(s.period(), 0.0);
      } else if (name.startsWith("day:agent:")) {
        used = byAgentDay.getOrDefault(name.substring("day:agent:".length()) + "|" + s.period(), 0.0);
      } else if (name.startsWith("agent:")) {
        used = byAgent.getOrDefault(name.substring("agent:".length()), 0.0);
      } else {
        used = byClient.getOrDefault(name.substring("client:".length()), 0.0);
      }
      double[] counter = counters.getOrDefault(s.key(), new double[3]);
      budgets.add(budget(s, used, counter[1], counter[2] > 0, config.budgets()));
    }
    return new Spend(month, total, projected, byAgent, byModel, byDay, byKey, byClient, budgets);
  }

  private static Budget budget(BudgetScope s, double used, double held, boolean refused, HubConfig.Budgets b) {
    double limit = s.limitUsd();
    List<Double> raised = new ArrayList<>();
    for (double threshold : b.alerts()) {
      if (limit > 0 ? used >= threshold * limit : used > 0) {
        raised.add(threshold);
      }
    }
    // a budget is reached at its limit, or once it refused a call that would have passed it
    boolean over = refused || (limit > 0 ? used >= limit - 1e-8 : used > 0);
    String state = !over ? "ok" : b.onExceed() == HubConfig.OnExceed.BLOCK ? "blocked" : "downgraded";
    return new Budget(s.name(), s.period(), limit, used, held, raised, state);
  }

  public String month() {
    return month;
  }

  public double total() {
    return total;
  }

  public List<Budget> budgets() {
    return budgets;
  }

  public Map<String, Double> byAgent() {
    return byAgent;
  }

  public Map<String, Double> byModel() {
    return byModel;
  }

  /** The body of {@code GET /v1/spend}. */
  public JsonObject toJson() {
    JsonArray bs = new JsonArray();
    budgets.forEach(b -> bs.add(b.toJson()));
    return new JsonObject().put("month", month).put("month_to_date_usd", total).put("projected_usd", projected)
      .put("by_agent", json(byAgent)).put("by_model", json(byModel)).put("by_day", json(byDay))
      .put("by_key", json(byKey)).put("by_client", json(byClient)).put("budgets", bs);
  }

  private static JsonObject json(Map<String, Double> map) {
    JsonObject out = new JsonObject();
    new TreeMap<>(map).forEach(out::put);
    return out;
  }

  /** The month's report as {@code spend/<month>.md} holds it: the total, by agent, by model, the budgets. */
  String markdown() {
    StringBuilder sb = new StringBuilder("# Spend " + month() + "\n\n");
    sb.append(String.format(Locale.ROOT, "Month to date: $%.4f%n%n", total()));
    sb.append("| agent | USD |\n|---|---|\n");
    byAgent().forEach((a, usd) -> sb.append(String.format(Locale.ROOT, "| %s | %.4f |%n", a, usd)));
    sb.append("\n| model | USD |\n|---|---|\n");
    byModel().forEach((m, usd) -> sb.append(String.format(Locale.ROOT, "| %s | %.4f |%n", m, usd)));
    sb.append("\n| budget | limit | used | state |\n|---|---|---|---|\n");
    budgets().forEach(b -> sb.append(String.format(Locale.ROOT, "| %s | %.2f | %.4f | %s |%n",
      b.scope(), b.limitUsd(), b.usedUsd(), b.state())));
    return sb.toString();
  }
}
