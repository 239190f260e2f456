package dev.agenthub.governor.ledger;

import dev.agenthub.agents.AgentSpec;
import dev.agenthub.config.HubConfig;

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
    return key(period, name);
  }

  /** The key of budget {@code name} in {@code period}: {@code <period>|<name>}. */
  static String key(String period, String name) {
    return period + "|" + name;
  }

  /** The period a key names. */
  static String periodOf(String key) {
    return key.substring(0, Math.max(0, key.indexOf('|')));
  }

  public boolean daily() {
    return period.length() > 7;
  }

  /** Every budget a call by {@code agent} on behalf of {@code client} (null: none) counts against. */
  public static List<BudgetScope> applying(HubConfig config, String agent, String client, ZonedDateTime now) {
    List<BudgetScope> out = new ArrayList<>(4);
    hubWide(out, config.budgets(), now);
    config.agent(agent).ifPresent(spec -> agent(out, spec, now));
    if (client != null) {
      config.clients().stream().filter(c -> c.id().equals(client)).forEach(c -> client(out, c, now));
    }
    return out;
  }

  /** Every budget configured, for this period: what the ledger seeds and shows. */
  public static List<BudgetScope> all(HubConfig config, ZonedDateTime now) {
    List<BudgetScope> out = new ArrayList<>();
    hubWide(out, config.budgets(), now);
    config.agents().forEach(spec -> agent(out, spec, now));
    config.clients().forEach(c -> client(out, c, now));
    return out;
  }

  private static void hubWide(List<BudgetScope> out, HubConfig.Budgets b, ZonedDateTime now) {
    if (b.monthlyUsd() != null) {
      out.add(new BudgetScope("global", month(now), b.monthlyUsd()));
    }
    if (b.dailyUsd() != null) {
      out.add(new BudgetScope("day", day(now), b.dailyUsd()));
    }
  }

  private static void agent(List<BudgetScope> out, AgentSpec spec, ZonedDateTime now) {
    if (spec.budgetUsd() != null) {
      out.add(new BudgetScope("agent:" + spec.id(), month(now), spec.budgetUsd()));
    }
    if (spec.dailyUsd() != null) {
      out.add(new BudgetScope("day:agent:" + spec.id(), day(now), spec.dailyUsd()));
    }
  }

  private static void client(List<BudgetScope> out, HubConfig.Client c, ZonedDateTime now) {
    if (c.budgetUsd() != null) {
      out.add(new BudgetScope("client:" + c.id(), month(now), c.budgetUsd()));
    }
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
