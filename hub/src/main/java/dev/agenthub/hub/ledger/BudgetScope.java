package dev.agenthub.hub.ledger;

import dev.agenthub.agents.AgentSpec;
import dev.agenthub.hub.config.HubConfig;

import java.time.Duration;
import java.time.LocalDate;
import java.time.YearMonth;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.List;

/**
 * One budget a call counts against: its name as {@code /v1/spend} shows it ({@code global},
 * {@code day}, {@code agent:<id>}, {@code day:agent:<id>}, {@code client:<id>}), the period it
 * covers ({@code YYYY-MM} or {@code YYYY-MM-DD} in the budgets' time zone) and its limit in USD.
 */
public record BudgetScope(String name, String period, double limitUsd) {

  /** The counter's key: a new period is a new key, so budgets reset at the zone's midnight. */
  public String key() {
    return period + "|" + name;
  }

  public boolean daily() {
    return period.length() > 7;
  }

  /** Every budget a call by {@code agent} on behalf of {@code client} (null: none) counts against. */
  public static List<BudgetScope> applying(HubConfig config, String agent, String client, ZonedDateTime now) {
    HubConfig.Budgets b = config.budgets();
    String month = month(now);
    String day = day(now);
    List<BudgetScope> out = new ArrayList<>(4);
    if (b.monthlyUsd() != null) {
      out.add(new BudgetScope("global", month, b.monthlyUsd()));
    }
    if (b.dailyUsd() != null) {
      out.add(new BudgetScope("day", day, b.dailyUsd()));
    }
    AgentSpec spec = config.agent(agent).orElse(null);
    if (spec != null && spec.budgetUsd() != null) {
      out.add(new BudgetScope("agent:" + agent, month, spec.budgetUsd()));
    }
    if (spec != null && spec.dailyUsd() != null) {
      out.add(new BudgetScope("day:agent:" + agent, day, spec.dailyUsd()));
    }
    if (client != null) {
      for (HubConfig.Client c : config.clients()) {
        if (c.id().equals(client) && c.budgetUsd() != null) {
          out.add(new BudgetScope("client:" + client, month, c.budgetUsd()));
        }
      }
    }
    return out;
  }

  /** Every budget configured, for this period: what the ledger seeds and shows. */
  public static List<BudgetScope> all(HubConfig config, ZonedDateTime now) {
    List<BudgetScope> out = new ArrayList<>(applying(config, "", null, now));
    for (AgentSpec spec : config.agents()) {
      applying(config, spec.id(), null, now).stream().filter(s -> s.name().endsWith("agent:" + spec.id()))
        .forEach(out::add);
    }
    for (HubConfig.Client c : config.clients()) {
      if (c.budgetUsd() != null) {
        out.add(new BudgetScope("client:" + c.id(), month(now), c.budgetUsd()));
      }
    }
    return out;
  }

  /** Seconds until this budget's period ends (when a refused caller may try again). */
  public long secondsLeft(ZonedDateTime now) {
    ZonedDateTime end = daily() ? LocalDate.parse(period).plusDays(1).atStartOfDay(now.getZone())
      : YearMonth.parse(period).plusMonths(1).atDay(1).atStartOfDay(now.getZone());
    return Math.max(1, Duration.between(now, end).getSeconds());
  }

  public static String month(ZonedDateTime now) {
    return YearMonth.from(now).toString();
  }

  public static String day(ZonedDateTime now) {
    return LocalDate.from(now).toString();
  }
}
