package dev.agenthub.governor.ledger;

import dev.agenthub.config.HubConfig;
import dev.agenthub.memory.MemoryClient;
import dev.agenthub.protocol.Failure;
import dev.agenthub.protocol.MessageAuth;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonObject;
import io.vertx.core.shareddata.AsyncMap;
import io.vertx.core.tracing.TracingPolicy;
import io.vertx.ext.web.client.WebClient;

import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The ledger of one node. Every model call's usage comes here ({@code ledger.record}, local) before
 * the answer is sent: it is appended to this node's journal ({@link LedgerJournal}, a file per month)
 * and the node's running totals per month, agent, model, key, day and client go into a cluster-wide
 * map, each node owning its own rows, so {@code /v1/spend} on any node sums the cluster and a restart
 * rebuilds the month from every journal in {@code ledger.dir}: its own, and others' for rows the
 * cluster does not hold (a full restart, nodes back under new names; put the directory on a volume
 * every node shares so none is lost). At start it seeds the budget counters ({@link BudgetCounters})
 * the governor holds calls against. Once a second the budgets are measured: each alert threshold is
 * raised once per period cluster-wide (log, metric, webhook, a line in {@code spend/alerts.md}). Once
 * a minute one node rewrites {@code spend/YYYY-MM.md}.
 */
public final class LedgerVerticle extends VerticleBase {

  public static final String RECORD = "ledger.record";
  public static final String SPEND = "ledger.spend";
  public static final String USAGE = "ledger.usage";
  private static final Logger LOG = Logger.getLogger(LedgerVerticle.class.getName());

  private final HubConfig config;
  private final LedgerEvents metrics;
  private final String node;
  private final MessageAuth.Signer signer;
  private final MessageAuth.Verifier verifier;
  private final BudgetCounters counters;
  private final Map<String, JsonObject> own = new HashMap<>();
  private AsyncMap<String, JsonObject> rows;
  private BudgetAlerts budgetAlerts;
  private LedgerJournal journal;
  private MemoryClient memory;

  /**
   * @param signer   this node's signer (its monthly report into memory)
   * @param verifier checks that records and spend requests come from a node ({@link MessageAuth})
   */
  public LedgerVerticle(HubConfig config, LedgerEvents metrics, String node, MessageAuth.Signer signer,
                        MessageAuth.Verifier verifier, BudgetCounters counters) {
    this.config = config;
    this.metrics = metrics;
    this.node = node;
    this.signer = signer;
    this.verifier = verifier;
    this.counters = counters;
  }

  private ZonedDateTime now() {
    return ZonedDateTime.now(config.budgets().zone());
  }

  @Override
  public Future<?> start() {
    memory = new MemoryClient(vertx, signer, 10_000);
    journal = new LedgerJournal(Path.of(config.ledgerDir()), node, config.operations().ledgerRetentionMonths());
    Map<String, JsonObject> others = new HashMap<>();
    return vertx.executeBlocking(() -> journal.read(BudgetScope.month(now())))
      .compose(journals -> {
        journals.forEach((journalNode, lines) -> lines.forEach(e -> add(journalNode.equals(node) ? own : others,
          journalNode, e)));
        return vertx.sharedData().<String, JsonObject>getAsyncMap("agenthub.spend");
      })
      .compose(map -> {
        rows = map;
        List<Future<?>> puts = new ArrayList<>();
        own.forEach((k, v) -> puts.add(rows.put(k, v.copy())));
        // another node's rows as its journal has them, unless the cluster holds them (newer) already
        others.forEach((k, v) -> puts.add(rows.putIfAbsent(k, v)));
        return Future.all(puts);
      })
      .compose(v -> vertx.sharedData().<String, Long>getAsyncMap("agenthub.budget-alerts"))
      .compose(map -> {
        budgetAlerts = new BudgetAlerts(map, metrics, memory, WebClient.create(vertx), config.budgets().webhook());
        return compute();
      })
      .compose(spend -> {
        // a cluster starting afresh counts each budget from the journals; a running one keeps its own
        Map<String, Double> used = new HashMap<>();
        spend.budgets().forEach(b -> used.put(BudgetScope.key(b.period(), b.scope()), b.usedUsd()));
        return counters.seed(used);
      })
      .compose(v -> {
        vertx.eventBus().<JsonObject>localConsumer(RECORD, this::record);
        vertx.eventBus().<JsonObject>localConsumer(SPEND, m -> {
          if (!fromNode(m)) {
            Failure.reply(m, new Failure(Failure.Kind.FORBIDDEN, "not signed by a node"));
            return;
          }
          compute().onSuccess(s -> m.reply(s.toJson())).onFailure(err -> Failure.reply(m, new Failure(Failure.Kind.UNAVAILABLE, "spend unavailable")));
        });
        vertx.setPeriodic(1_000, id -> measure());
        vertx.setPeriodic(5_000, id -> sync());
        vertx.setPeriodic(10_000, id -> sweep());
        vertx.setPeriodic(15_000, 60_000, id -> report());
        return measure();
      });
  }

  /** Records and spend requests come from a node; both addresses are local consumers (signLocal will do). */
  private boolean fromNode(Message<?> m) {
    String principal = verifier.verifyLocal(m);
    if (principal != null && principal.startsWith(MessageAuth.nodePrincipal(""))) {
      return true;
    }
    metrics.refused("identity");
    return false;
  }

  @Override
  public Future<?> stop() {
    return vertx.executeBlocking(() -> {
      journal.close();
      return null;
    });
  }

  private static String add(Map<String, JsonObject> into, String rowNode, JsonObject e) {
    String id = Spend.Row.id(e.getString("month"), rowNode, e.getString("agent"), e.getString("model"),
      e.getString("key", "-"), e.getString("day"), e.getString("client", "-"));
    JsonObject t = into.computeIfAbsent(id, k -> new JsonObject().put("usd", 0.0).put("input", 0L).put("output", 0L)
      .put("calls", 0L).put("cached", 0L));
    t.put("usd", t.getDouble("usd") + e.getDouble("usd", 0.0));
    t.put("input", t.getLong("input") + e.getLong("input", 0L));
    t.put("output", t.getLong("output") + e.getLong("output", 0L));
    t.put("calls", t.getLong("calls") + 1);
    t.put("cached", t.getLong("cached") + (e.getBoolean("cached", false) ? 1 : 0));
    return id;
  }

  /** {@code {agent, model, key, client, input, output, usd, cached}}: answered once the cluster's rows show it. */
  private void record(Message<JsonObject> m) {
    if (!fromNode(m)) {
      // spend is what a node's governor priced: nothing else writes into the ledger
      Failure.reply(m, new Failure(Failure.Kind.FORBIDDEN, "usage records must be signed by a node"));
      return;
    }
    if (!(((Message<?>) m).body() instanceof JsonObject body) || !(body.getValue("agent") instanceof String)
      || !(body.getValue("model") instanceof String) || !(body.getValue("usd", 0.0) instanceof Number)
      || !(body.getValue("input", 0) instanceof Number) || !(body.getValue("output", 0) instanceof Number)
      || !(body.getValue("client", "-") instanceof String)) {
      Failure.reply(m, new Failure(Failure.Kind.BAD_REQUEST, "malformed usage record"));
      return;
    }
    ZonedDateTime now = now();
    String month = BudgetScope.month(now);
    JsonObject e = m.body().copy().put("month", month).put("day", BudgetScope.day(now))
      .put("ts", now.toInstant().toString()).put("node", node);
    String id = add(own, node, e);
    String line = e.encode();
    // handed to the OS before the answer leaves (survives a killed process), forced to disk every few
    // seconds; the write runs off the event loop, in order
    Future<Void> written = vertx.<Void>executeBlocking(() -> {
      journal.append(month, line);
      return null;
    }, true).onFailure(ex -> LOG.warning("ledger: cannot write the journal: " + ex.getMessage()));
    // a notice to this node's own listeners, not a step of the call: no span of its trace. Local
    // only: cluster-wide, Vert.x would look up the address's subscribers in Hazelcast on every call
    // (it keeps no empty answer), and nobody on another node listens
    vertx.eventBus().publish(USAGE, e, new DeliveryOptions().setTracingPolicy(TracingPolicy.IGNORE).setLocalOnly(true));
    Future.join(written, rows.put(id, own.get(id).copy())).onComplete(ar -> m.reply(new JsonObject()));
  }

  private void sync() {
    vertx.executeBlocking(() -> {
      journal.force();
      return null;
    }, true).onFailure(ex -> LOG.warning("ledger: cannot force the journal to disk: " + ex.getMessage()));
  }

  /** Drops holds of nodes that left and counters of ended periods. */
  private void sweep() {
    ZonedDateTime now = now();
    counters.sweep(Set.of(BudgetScope.month(now), BudgetScope.day(now)))
      .onFailure(err -> LOG.log(Level.WARNING, "ledger: budget sweep failed", err));
  }

  private Future<Spend> compute() {
    ZonedDateTime now = now();
    List<BudgetScope> scopes = BudgetScope.all(config, now);
    Future<Map<String, double[]>> held = counters.read(scopes.stream().map(BudgetScope::key).toList())
      .otherwise(Map.of());
    return Future.all(rows.entries(), held).map(all -> {
      Map<String, JsonObject> entries = all.resultAt(0);
      Map<String, double[]> counted = all.resultAt(1);
      List<Spend.Row> list = new ArrayList<>();
      entries.forEach((k, v) -> list.add(Spend.Row.of(k, v)));
      return Spend.compute(list, config, now, counted);
    });
  }

  private Future<Void> measure() {
    return compute().compose(spend -> {
      metrics.budgets(spend.budgets());
      return budgetAlerts.raise(spend);
    }).otherwise((Void) null);
  }

  private void report() {
    vertx.sharedData().getLockWithTimeout("agenthub.ledger.report", 10).onSuccess(lock ->
      compute().compose(spend -> memory.replace("spend/" + spend.month() + ".md", spend.markdown()))
        .onComplete(ar -> lock.release()));
  }

}
