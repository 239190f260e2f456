package dev.agenthub.hub.ledger;

import dev.agenthub.agents.AgentSpec;
import dev.agenthub.hub.config.HubConfig;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.time.LocalDate;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Month-to-date spend from the cluster's ledger rows, and the budgets measured against it. Plain
 * data: the ledger verticle feeds it rows, {@code /v1/spend} and the governor read it.
 */
public final class Spend {

  /** One row: {@code month|node|agent|model|key|day} and its totals. */
  record Row(String month, String node, String agent, String model, String key, String day, double usd,
             long input, long output, long calls, long cached) {

    static String id(String month, String node, String agent, String model, String key, String day) {
      return String.join("|", month, node, agent, model, key, day);
    }

    static Row of(String id, JsonObject totals) {
      String[] p = id.split("\\|", -1);
      return new Row(p[0], p[1], p[2], p[3], p[4], p[5], totals.getDouble("usd", 0.0), totals.getLong("input", 0L),
        totals.getLong("output", 0L), totals.getLong("calls", 0L), totals.getLong("cached", 0L));
    }
  }

  /** One budget's standing. */
  public record Budget(String scope, double limitUsd, double usedUsd, List<Double> alertsRaised, String state) {
    JsonObject toJson() {
      return new JsonObject().put("scope", scope).put("limit_usd", limitUsd).put("used_usd", usedUsd)
        .put("alerts_raised", new JsonArray(alertsRaised)).put("state", state);
    }
  }

  private final String month;
  private final double total;
  private final double projected;
  private final Map<String, Double> byAgent;
  private final Map<String, Double> byModel;
  private final Map<String, Double> byDay;
  private final Map<String, Double> byKey;
  private final List<Budget> budgets;

  private Spend(String month, double total, double projected, Map<String, Double> byAgent, Map<String, Double> byModel,
                Map<String, Double> byDay, Map<String, Double> byKey, List<Budget> budgets) {
    this.month = month;
    this.total = total;
    this.projected = projected;
    this.byAgent = byAgent;
    this.byModel = byModel;
    this.byDay = byDay;
    this.byKey = byKey;
    this.budgets = budgets;
  }

  static String month(ZonedDateTime now) {
    return YearMonth.from(now).toString();
  }

  static Spend compute(List<Row> rows, HubConfig config, ZonedDateTime now) {
    String month = month(now);
    double total = 0;
    Map<String, Double> byAgent = new TreeMap<>();
    Map<String, Double> byModel = new TreeMap<>();
    Map<String, Double> byDay = new TreeMap<>();
    Map<String, Double> byKey = new TreeMap<>();
    for (Row r : rows) {
      if (!r.month().equals(month)) {
        continue;
      }
      total += r.usd();
      byAgent.merge(r.agent(), r.usd(), Double::sum);
      byModel.merge(r.model(), r.usd(), Double::sum);
      byDay.merge(r.day(), r.usd(), Double::sum);
      byKey.merge(r.key(), r.usd(), Double::sum);
    }
    return of(month, total, byAgent, byModel, byDay, byKey, config, now);
  }

  private static Spend of(String month, double total, Map<String, Double> byAgent, Map<String, Double> byModel,
                          Map<String, Double> byDay, Map<String, Double> byKey, HubConfig config, ZonedDateTime now) {
    YearMonth ym = YearMonth.from(now);
    double elapsedDays = Math.max(1.0, (now.toEpochSecond() - ym.atDay(1).atStartOfDay(ZoneOffset.UTC).toEpochSecond())
      / 86_400.0);
    double projected = total / elapsedDays * ym.lengthOfMonth();
    List<Budget> budgets = new ArrayList<>();
    HubConfig.Budgets b = config.budgets();
    if (b.monthlyUsd() != null) {
      budgets.add(budget("global", b.monthlyUsd(), total, b));
    }
    for (AgentSpec agent : config.agents()) {
      if (agent.budgetUsd() != null) {
        budgets.add(budget("agent:" + agent.id(), agent.budgetUsd(), byAgent.getOrDefault(agent.id(), 0.0), b));
      }
    }
    return new Spend(month, total, projected, byAgent, byModel, byDay, byKey, budgets);
  }

  /** This spend plus one call this node just recorded: budgets take effect here without waiting. */
  Spend plus(String agent, String model, String key, String day, double usd, HubConfig config, ZonedDateTime now) {
    if (!month.equals(month(now))) {
      return this;
    }
    Map<String, Double> a = new TreeMap<>(byAgent);
    Map<String, Double> m = new TreeMap<>(byModel);
    Map<String, Double> d = new TreeMap<>(byDay);
    Map<String, Double> k = new TreeMap<>(byKey);
    a.merge(agent, usd, Double::sum);
    m.merge(model, usd, Double::sum);
    d.merge(day, usd, Double::sum);
    k.merge(key, usd, Double::sum);
    return of(month, total + usd, a, m, d, k, config, now);
  }

  private static Budget budget(String scope, double limit, double used, HubConfig.Budgets b) {
    List<Double> raised = new ArrayList<>();
    for (double threshold : b.alerts()) {
      if (limit > 0 ? used >= threshold * limit : used > 0) {
        raised.add(threshold);
      }
    }
    boolean over = limit > 0 ? used >= limit : used > 0;
    String state = !over ? "ok" : b.onExceed().equals("block") ? "blocked" : "downgraded";
    return new Budget(scope, limit, used, raised, state);
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

  /** The state that applies to {@code agent}: blocked beats downgraded beats ok. */
  public String stateFor(String agent) {
    String state = "ok";
    for (Budget b : budgets) {
      if (b.scope().equals("global") || b.scope().equals("agent:" + agent)) {
        if (b.state().equals("blocked")) {
          return "blocked";
        }
        if (b.state().equals("downgraded")) {
          state = "downgraded";
        }
      }
    }
    return state;
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
      .put("by_key", json(byKey)).put("budgets", bs);
  }

  private static JsonObject json(Map<String, Double> map) {
    JsonObject out = new JsonObject();
    new TreeMap<>(map).forEach(out::put);
    return out;
  }

  static String today(ZonedDateTime now) {
    return LocalDate.from(now).toString();
  }
}
