package dev.agenthub.hub.ledger;

import dev.agenthub.hub.config.HubConfig;
import dev.agenthub.hub.metrics.HubMetrics;
import dev.agenthub.memory.MemoryClient;
import dev.agenthub.memory.MemoryPolicy;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonObject;
import io.vertx.core.shareddata.AsyncMap;
import io.vertx.ext.web.client.WebClient;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.logging.Logger;

/**
 * The ledger of one node. Every model call's usage comes here ({@code ledger.record}, local) before
 * the answer is sent: it is appended to this node's JSON-lines journal ({@code ledger.dir/<node>.jsonl})
 * and the node's running totals per month, agent, model, key and day go into a cluster-wide map,
 * each node owning its own rows, so {@code /v1/spend} on any node sums the cluster and a restart
 * rebuilds the rows from the journals: its own, and every other journal in {@code ledger.dir} for
 * rows the cluster does not hold (a full restart, nodes that came back under new names; put the
 * directory on a volume every node shares so none is lost). Once a second the budgets are measured: each alert threshold
 * is raised once per month cluster-wide (log, metric, webhook, a line in {@code spend/alerts.md});
 * the governor reads the resulting states to downgrade or block. Once a minute one node rewrites
 * {@code spend/YYYY-MM.md}.
 */
public final class LedgerVerticle extends VerticleBase {

  public static final String RECORD = "ledger.record";
  public static final String SPEND = "ledger.spend";
  public static final String USAGE = "ledger.usage";
  private static final Logger LOG = Logger.getLogger(LedgerVerticle.class.getName());

  private final HubConfig config;
  private final HubMetrics metrics;
  private final String node;
  private final Map<String, JsonObject> own = new HashMap<>();
  // other nodes' rows read from their journals at start, until they are offered to the cluster
  private final Map<String, JsonObject> others = new HashMap<>();
  private AsyncMap<String, JsonObject> rows;
  private AsyncMap<String, Long> alerts;
  private BufferedWriter journal;
  private FileChannel journalChannel;
  private MemoryClient memory;
  private WebClient web;
  private volatile Spend latest;
  private boolean dirty;

  private final String adminToken;

  public LedgerVerticle(HubConfig config, HubMetrics metrics, String node, String adminToken) {
    this.adminToken = adminToken;
    this.config = config;
    this.metrics = metrics;
    this.node = node;
  }

  /** The budgets as last measured (about a second old at most); null before the first measure. */
  public Spend latest() {
    return latest;
  }

  @Override
  public Future<?> start() {
    memory = new MemoryClient(vertx, MemoryPolicy.ADMIN, adminToken, 10_000);
    web = WebClient.create(vertx);
    Path file = Path.of(config.ledgerDir()).resolve(node + ".jsonl");
    return vertx.executeBlocking(() -> load(file))
      .compose(v -> vertx.sharedData().<String, JsonObject>getAsyncMap("agenthub.spend"))
      .compose(map -> {
        rows = map;
        List<Future<?>> puts = new ArrayList<>();
        own.forEach((k, v) -> puts.add(rows.put(k, v.copy())));
        // another node's rows as its journal has them, unless the cluster holds them (newer) already
        others.forEach((k, v) -> puts.add(rows.putIfAbsent(k, v)));
        others.clear();
        return Future.all(puts);
      })
      .compose(v -> vertx.sharedData().<String, Long>getAsyncMap("agenthub.budget-alerts"))
      .compose(map -> {
        alerts = map;
        vertx.eventBus().<JsonObject>localConsumer(RECORD, this::record);
        vertx.eventBus().<JsonObject>localConsumer(SPEND, m -> compute().onSuccess(s -> m.reply(s.toJson()))
          .onFailure(err -> m.fail(503, "spend unavailable")));
        vertx.setPeriodic(1_000, id -> measure());
        vertx.setPeriodic(5_000, id -> sync());
        vertx.setPeriodic(15_000, 60_000, id -> report());
        return measure();
      });
  }

  @Override
  public Future<?> stop() {
    return vertx.executeBlocking(() -> {
      journal.flush();
      journalChannel.force(false);
      journal.close();
      return null;
    });
  }

  private Void load(Path file) throws IOException {
    Files.createDirectories(file.getParent());
    if (Files.exists(file)) {
      readJournal(file, own, node);
    }
    // the other journals in the directory (other nodes', and those of nodes gone for good, such as
    // pods renamed by a full restart): their rows fill in what the cluster does not hold already
    try (var journals = Files.newDirectoryStream(file.getParent(), "*.jsonl")) {
      for (Path other : journals) {
        String name = other.getFileName().toString();
        String otherNode = name.substring(0, name.length() - ".jsonl".length());
        if (!other.equals(file) && !otherNode.isEmpty()) {
          readJournal(other, others, otherNode);
        }
      }
    }
    journalChannel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    journal = new BufferedWriter(java.nio.channels.Channels.newWriter(journalChannel, StandardCharsets.UTF_8));
    return null;
  }

  /** Adds this month's lines of one node's journal to {@code into}, as that node's rows. */
  private static void readJournal(Path file, Map<String, JsonObject> into, String journalNode) throws IOException {
    String month = Spend.month(ZonedDateTime.now(ZoneOffset.UTC));
    for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
      try {
        JsonObject e = new JsonObject(line);
        if (month.equals(e.getString("month"))) {
          add(into, journalNode, e);
        }
      } catch (RuntimeException torn) {
        // a line cut by a crash: the call it describes was never answered
      }
    }
  }

  private String add(JsonObject e) {
    return add(own, node, e);
  }

  private static String add(Map<String, JsonObject> into, String rowNode, JsonObject e) {
    String id = Spend.Row.id(e.getString("month"), rowNode, e.getString("agent"), e.getString("model"),
      e.getString("key", "-"), e.getString("day"));
    JsonObject t = into.computeIfAbsent(id, k -> new JsonObject().put("usd", 0.0).put("input", 0L).put("output", 0L)
      .put("calls", 0L).put("cached", 0L));
    t.put("usd", t.getDouble("usd") + e.getDouble("usd", 0.0));
    t.put("input", t.getLong("input") + e.getLong("input", 0L));
    t.put("output", t.getLong("output") + e.getLong("output", 0L));
    t.put("calls", t.getLong("calls") + 1);
    t.put("cached", t.getLong("cached") + (e.getBoolean("cached", false) ? 1 : 0));
    return id;
  }

  /** {@code {agent, model, key, input, output, usd, cached}}: answered once the cluster's rows show it. */
  private void record(Message<JsonObject> m) {
    if (!(((Message<?>) m).body() instanceof JsonObject body) || !(body.getValue("agent") instanceof String)
      || !(body.getValue("model") instanceof String) || !(body.getValue("usd", 0.0) instanceof Number)
      || !(body.getValue("input", 0) instanceof Number) || !(body.getValue("output", 0) instanceof Number)) {
      m.fail(400, "malformed usage record");
      return;
    }
    ZonedDateTime now = ZonedDateTime.now(ZoneOffset.UTC);
    JsonObject e = m.body().copy().put("month", Spend.month(now)).put("day", Spend.today(now))
      .put("ts", now.toInstant().toString()).put("node", node);
    String id = add(e);
    String line = e.encode();
    // handed to the OS before the answer leaves (survives a killed process), forced to disk every few
    // seconds; the write runs off the event loop, in order
    Future<Void> written = vertx.<Void>executeBlocking(() -> {
      journal.write(line);
      journal.newLine();
      journal.flush();
      return null;
    }, true).onSuccess(v -> dirty = true)
      .onFailure(ex -> LOG.warning("ledger: cannot write the journal: " + ex.getMessage()));
    vertx.eventBus().publish(USAGE, e);
    Spend known = latest;
    if (known != null) {
      latest = known.plus(e.getString("agent"), e.getString("model"), e.getString("key", "-"), e.getString("day"),
        e.getDouble("usd", 0.0), config, now);
    }
    Future.join(written, rows.put(id, own.get(id).copy())).onComplete(ar -> m.reply(new JsonObject()));
  }

  private void sync() {
    if (!dirty) {
      return;
    }
    dirty = false;
    vertx.executeBlocking(() -> {
      journal.flush();
      journalChannel.force(false);
      return null;
    }, true);
  }

  private Future<Spend> compute() {
    ZonedDateTime now = ZonedDateTime.now(ZoneOffset.UTC);
    return rows.entries().map(entries -> {
      List<Spend.Row> list = new ArrayList<>();
      entries.forEach((k, v) -> list.add(Spend.Row.of(k, v)));
      return Spend.compute(list, config, now);
    });
  }

  private Future<Void> measure() {
    return compute().compose(spend -> {
      // the cluster's rows, plus what this node recorded meanwhile (it is in the next measure)
      latest = spend;
      List<Future<Void>> raised = new ArrayList<>();
      for (Spend.Budget b : spend.budgets()) {
        for (double threshold : b.alertsRaised()) {
          String key = spend.month() + "|" + b.scope() + "|" + threshold;
          raised.add(alerts.putIfAbsent(key, System.currentTimeMillis())
            .compose(previous -> previous == null ? alert(spend.month(), b, threshold) : Future.succeededFuture()));
        }
      }
      return Future.join(raised).<Void>mapEmpty();
    }).otherwise((Void) null);
  }

  private Future<Void> alert(String month, Spend.Budget b, double threshold) {
    String text = String.format(java.util.Locale.ROOT, "budget %s reached %.0f%% of $%.2f in %s ($%.4f spent)%s",
      b.scope(), threshold * 100, b.limitUsd(), month, b.usedUsd(),
      threshold >= 1.0 ? ": " + b.state() : "");
    LOG.warning("budget alert: " + text);
    metrics.budgetAlert(b.scope(), threshold);
    Future<?> note = memory.append("spend/alerts.md", "ledger", text).otherwise((JsonObject) null);
    String webhook = config.budgets().webhook();
    if (webhook != null && !webhook.isBlank()) {
      JsonObject payload = new JsonObject().put("month", month).put("scope", b.scope()).put("threshold", threshold)
        .put("limit_usd", b.limitUsd()).put("used_usd", b.usedUsd()).put("state", b.state()).put("text", text);
      web.postAbs(webhook).timeout(10_000).sendJsonObject(payload)
        .onFailure(err -> LOG.warning("budget alert webhook failed: " + err.getMessage()));
    }
    return note.mapEmpty();
  }

  private void report() {
    vertx.sharedData().getLockWithTimeout("agenthub.ledger.report", 10).onSuccess(lock ->
      compute().compose(spend -> memory.replace("spend/" + spend.month() + ".md", markdown(spend)))
        .onComplete(ar -> lock.release()));
  }

  static String markdown(Spend spend) {
    StringBuilder sb = new StringBuilder("# Spend " + spend.month() + "\n\n");
    sb.append(String.format(java.util.Locale.ROOT, "Month to date: $%.4f%n%n", spend.total()));
    sb.append("| agent | USD |\n|---|---|\n");
    spend.byAgent().forEach((a, usd) -> sb.append(String.format(java.util.Locale.ROOT, "| %s | %.4f |%n", a, usd)));
    sb.append("\n| model | USD |\n|---|---|\n");
    spend.byModel().forEach((m, usd) -> sb.append(String.format(java.util.Locale.ROOT, "| %s | %.4f |%n", m, usd)));
    sb.append("\n| budget | limit | used | state |\n|---|---|---|---|\n");
    spend.budgets().forEach(b -> sb.append(String.format(java.util.Locale.ROOT, "| %s | %.2f | %.4f | %s |%n",
      b.scope(), b.limitUsd(), b.usedUsd(), b.state())));
    return sb.toString();
  }
}
