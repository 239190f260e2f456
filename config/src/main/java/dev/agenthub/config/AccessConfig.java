package dev.agenthub.config;

import dev.agenthub.agents.AgentSpec;

import java.time.DateTimeException;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Who may use the hub and what it may spend: {@code budgets:}, {@code clients:}, and what operators
 * run it with: {@code telemetry:}, journals' retention, {@code batch:} callback hosts.
 */
final class AccessConfig {

  private AccessConfig() {
  }

  /** {@code budgets:} of the config's root. */
  static HubConfig.Budgets budgets(Fields root) {
    Fields f = root.section("budgets", Set.of("monthly-usd", "daily-usd", "alerts", "on-exceed", "webhook", "time-zone"));
    f.rejectUnknown();
    List<Double> alerts = new ArrayList<>();
    List<Object> raw = f.has("alerts") ? f.list("alerts") : List.of(0.5, 0.8, 1.0);
    for (Object a : raw) {
      if (!(a instanceof Number n) || n.doubleValue() <= 0 || n.doubleValue() > 1.0) {
        throw new ConfigException(f.field("alerts"), "each alert is a fraction in (0, 1], got " + Fields.describe(a));
      }
      alerts.add(n.doubleValue());
    }
    String onExceed = f.string("on-exceed", "downgrade");
    if (!onExceed.equals("downgrade") && !onExceed.equals("block")) {
      throw new ConfigException(f.field("on-exceed"), "must be downgrade or block, got '" + onExceed + "'");
    }
    String zone = f.string("time-zone", "UTC");
    ZoneId zoneId;
    try {
      zoneId = ZoneId.of(zone);
    } catch (DateTimeException e) {
      throw new ConfigException(f.field("time-zone"), "is not a time zone (such as UTC or Europe/Berlin): '" + zone + "'");
    }
    return new HubConfig.Budgets(f.optionalNumber("monthly-usd", 0), f.optionalNumber("daily-usd", 0), alerts,
      HubConfig.OnExceed.valueOf(onExceed.toUpperCase(Locale.ROOT)), f.string("webhook", ""), zoneId);
  }

  static List<HubConfig.Client> clients(Fields root, List<AgentSpec> agents) {
    List<HubConfig.Client> out = new ArrayList<>();
    List<Object> raw = root.list("clients");
    Set<String> agentIds = new HashSet<>();
    agents.forEach(a -> agentIds.add(a.id()));
    for (int i = 0; i < raw.size(); i++) {
      Fields c = new Fields("clients[" + i + "]", raw.get(i), Set.of("id", "token-sha256", "agents", "admin", "metrics", "budget-usd", "tpm"));
      c.rejectUnknown();
      String id = c.requiredString("id");
      // a client's id names the folder of its sessions' transcripts
      if (!ConfigLoader.CLIENT_ID.matcher(id).matches()) {
        throw new ConfigException(c.field("id"), "must be 1-64 of A-Z a-z 0-9 _ . @ - not starting with '.', got '"
          + id + "'");
      }
      String sha = c.requiredString("token-sha256").toLowerCase();
      if (!ConfigLoader.SHA256.matcher(sha).matches()) {
        throw new ConfigException(c.field("token-sha256"), "must be 64 hex digits (the SHA-256 of the token, never the token)");
      }
      for (HubConfig.Client earlier : out) {
        if (earlier.tokenSha256().equals(sha)) {
          throw new ConfigException(c.field("token-sha256"), "is the same token as client '" + earlier.id()
            + "': give each client its own token");
        }
        if (earlier.id().equals(id)) {
          throw new ConfigException(c.field("id"), "duplicate client id '" + id + "'");
        }
      }
      boolean all = "*".equals(c.raw("agents"));
      List<String> allowed = all ? List.of() : c.strings("agents", List.of());
      for (String a : allowed) {
        if (!agentIds.contains(a)) {
          throw new ConfigException(c.field("agents"), "unknown agent '" + a + "'");
        }
      }
      out.add(new HubConfig.Client(id, sha, allowed, all, c.bool("admin", false), c.bool("metrics", false),
        c.optionalNumber("budget-usd", 0),
        c.integer("tpm", 0, 0, 1_000_000_000)));
    }
    return out;
  }

  /** {@code telemetry:}, and the journals' retention in {@code ledger:} and {@code audit:}. */
  static HubConfig.Operations operations(Fields root) {
    Fields ledger = ledger(root);
    Fields audit = audit(root);
    Fields telemetry = root.section("telemetry", Set.of("otlp-endpoint", "tracing", "sample-ratio", "log-format"));
    ledger.rejectUnknown();
    audit.rejectUnknown();
    telemetry.rejectUnknown();
    String logFormat = telemetry.string("log-format", "auto");
    if (!Set.of("auto", "text", "json").contains(logFormat)) {
      throw new ConfigException(telemetry.field("log-format"), "must be auto, text or json, got '" + logFormat + "'");
    }
    String otlp = telemetry.string("otlp-endpoint", "");
    if (!otlp.isBlank() && !otlp.startsWith("http://") && !otlp.startsWith("https://")) {
      throw new ConfigException(telemetry.field("otlp-endpoint"), "must be an http:// or https:// URL (OTLP over "
        + "HTTP, such as http://127.0.0.1:4318), got '" + otlp + "'");
    }
    double sampleRatio = telemetry.number("sample-ratio", 0.1, 0);
    if (sampleRatio < 0 || sampleRatio > 1) {
      throw new ConfigException(telemetry.field("sample-ratio"), "is the share of new traces recorded, from 0 to 1, got "
        + sampleRatio);
    }
    return new HubConfig.Operations(otlp, telemetry.bool("tracing", false), sampleRatio,
      logFormat,
      ledger.integer("retention-months", 13, 0, 1200), audit.integer("retention-months", 13, 0, 1200));
  }

  private static Fields ledger(Fields root) {
    return root.section("ledger", Set.of("dir", "retention-months"));
  }

  private static Fields audit(Fields root) {
    return root.section("audit", Set.of("dir", "retention-months"));
  }

  /** {@code ledger.dir}. */
  static String ledgerDir(Fields root) {
    return ledger(root).string("dir", "data/ledger");
  }

  /** {@code audit.dir}. */
  static String auditDir(Fields root) {
    return audit(root).string("dir", "data/audit");
  }

  /** {@code batch:} the hosts batch answers may be POSTed to. */
  static HubConfig.Batch batch(Fields root) {
    Fields batch = root.section("batch", Set.of("callback-hosts"));
    batch.rejectUnknown();
    List<String> callbackHosts = batch.strings("callback-hosts", List.of());
    for (String host : callbackHosts) {
      if (!ConfigLoader.HOST.matcher(host).matches()) {
        throw new ConfigException(batch.field("callback-hosts"), "'" + host + "' is not a host name (exact names "
          + "only: no scheme, port, path or wildcard)");
      }
    }
    return new HubConfig.Batch(callbackHosts.stream().map(h -> h.toLowerCase(Locale.ROOT)).toList());
  }
}
