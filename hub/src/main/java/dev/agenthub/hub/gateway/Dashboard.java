package dev.agenthub.hub.gateway;

import dev.agenthub.agents.AgentSpec;
import dev.agenthub.config.HubConfig;
import dev.agenthub.governor.GovernorVerticle;
import dev.agenthub.governor.ledger.LedgerVerticle;
import dev.agenthub.hub.cluster.ClusterView;
import dev.agenthub.hub.cluster.NodeEntry;
import dev.agenthub.protocol.MessageAuth;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Timer;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * The live dashboard's data: every node publishes its own figures on {@code dashboard.stats} once a
 * second; each gateway keeps the latest from every live node. One gateway instance of the node
 * ({@link #record}) makes the cluster's picture once a second, with the spend and budgets, and keeps
 * the last 15 minutes of it as chart points (traffic, latency, spend, key headroom) in the node's
 * local map, so a browser that connects sees the charts filled at once. Browsers get the history,
 * then a picture a second, over server-sent events ({@code /ui/events}, admin token in the
 * {@code Authorization} header, never in the URL). Nodes that left stay on the page as {@code down}
 * for half a minute.
 */
final class Dashboard {

  static final String STATS = "dashboard.stats";
  private static final long DOWN_SHOWN_MS = 30_000;
  private static final int HISTORY_POINTS = 900;
  private static final String LOCAL_MAP = "agenthub.dashboard";

  // the recording instance's chart points, oldest first
  private final ArrayDeque<JsonObject> history = new ArrayDeque<>();

  private final Vertx vertx;
  private final GatewayContext gw;
  private final Map<String, JsonObject> byNode = new HashMap<>();
  private final Map<String, JsonObject> gone = new LinkedHashMap<>();
  private double lastMessages = -1;
  private TreeMap<Double, Double> lastBuckets = new TreeMap<>();

  /** The upper bound of the bucket holding quantile {@code q} of cumulative bucket counts; 0 if empty. */
  static double quantile(TreeMap<Double, Double> cumulative, double q) {
    double total = cumulative.isEmpty() ? 0 : cumulative.lastEntry().getValue();
    if (total <= 0) {
      return 0;
    }
    for (var e : cumulative.entrySet()) {
      if (e.getValue() >= q * total) {
        return e.getKey();
      }
    }
    return cumulative.lastKey();
  }
  private long lastAt;

  Dashboard(Vertx vertx, GatewayContext gw) {
    this.vertx = vertx;
    this.gw = gw;
  }

  /**
   * Makes this the node's recording dashboard (one gateway instance per node): it hears every
   * node's figures, and once a second publishes its own and records the cluster's picture.
   */
  void startRecording() {
    vertx.eventBus().<JsonObject>consumer(STATS, m -> {
      // figures count only when the node they name signed them
      String node = m.body() == null ? null : m.body().getString("node");
      String principal = gw.verifier().verify(m);
      if (node != null && MessageAuth.nodePrincipal(node).equals(principal)) {
        byNode.put(node, m.body());
      } else {
        gw.metrics().refused("identity");
      }
    });
    vertx.setPeriodic(1_000, id -> {
      publishOwn();
      record();
    });
  }

  /** This node's figures, published to every dashboard in the cluster. */
  private void publishOwn() {
    var registry = gw.metrics().registry();
    double messages = registry.find("agenthub_messages").counters().stream().mapToDouble(Counter::count).sum();
    long now = System.nanoTime();
    double rate = lastMessages < 0 ? 0 : (messages - lastMessages) / ((now - lastAt) / 1e9);
    lastMessages = messages;
    lastAt = now;
    // p50/p99 of the turns since the last publish, from the turn-latency histograms' buckets
    TreeMap<Double, Double> cumulative = new TreeMap<>();
    for (Timer t : registry.find("agenthub_turn_seconds").timers()) {
      for (var bucket : t.takeSnapshot().histogramCounts()) {
        cumulative.merge(bucket.bucket(TimeUnit.MILLISECONDS), bucket.count(), Double::sum);
      }
    }
    TreeMap<Double, Double> recent = new TreeMap<>();
    cumulative.forEach((le, count) -> recent.put(le, count - lastBuckets.getOrDefault(le, 0.0)));
    lastBuckets = cumulative;
    double p50 = quantile(recent, 0.50);
    double p99 = quantile(recent, 0.99);
    JsonObject queues = new JsonObject();
    registry.find("agenthub_queue_depth").gauges().forEach(g -> queues.put(g.getId().getTag("agent"), g.value()));
    JsonObject keys = new JsonObject();
    registry.find("agenthub_key_available").gauges().forEach(g -> keys.put(g.getId().getTag("key"), g.value()));
    JsonObject refused = new JsonObject();
    registry.find("agenthub_refused").counters().forEach(c -> refused.put(c.getId().getTag("reason"), c.count()));
    // each channel's messages on this node: in (accepted, duplicate, ignored, refused), out (sent, failed, dropped)
    JsonObject channels = new JsonObject();
    registry.find("agenthub_channel_messages").counters().forEach(c -> {
      JsonObject ch = channels.getJsonObject(c.getId().getTag("channel"), new JsonObject());
      ch.put(c.getId().getTag("direction") + "_" + c.getId().getTag("outcome"), c.count());
      channels.put(c.getId().getTag("channel"), ch);
    });
    JsonObject stats = new JsonObject().put("node", gw.config().node().name()).put("messages", messages)
      .put("rate", rate).put("turn_p50_ms", p50).put("turn_p99_ms", p99).put("queues", queues).put("keys", keys)
      .put("refused", refused).put("channels", channels).put("at", System.currentTimeMillis());
    // the governor's view of each provider: calls in flight and waiting, its circuit, each key's state
    JsonObject ask = new JsonObject();
    vertx.eventBus().<JsonObject>request(GovernorVerticle.STATUS, ask, gw.signer().sign(GovernorVerticle.STATUS, ask, null))
      .map(m -> m.body()).otherwise(new JsonObject())
      .onComplete(ar -> {
        stats.put("providers", ar.result());
        vertx.eventBus().publish(STATS, stats, gw.signer().sign(STATS, stats, null));
      });
  }

  /** Providers summed over the nodes: calls in flight and waiting, the worst circuit, each key's worst state. */
  static JsonObject providers(Iterable<JsonObject> nodeStats) {
    JsonObject out = new JsonObject();
    for (JsonObject s : nodeStats) {
      s.getJsonObject("providers", new JsonObject()).forEach(e -> {
        JsonObject p = (JsonObject) e.getValue();
        JsonObject sum = out.getJsonObject(e.getKey());
        if (sum == null) {
          sum = new JsonObject().put("in_flight", 0L).put("waiting", 0L).put("circuit", "closed").put("keys", new JsonObject());
          out.put(e.getKey(), sum);
        }
        sum.put("in_flight", sum.getLong("in_flight") + p.getLong("in_flight", 0L));
        sum.put("waiting", sum.getLong("waiting") + p.getLong("waiting", 0L));
        sum.put("circuit", worse(sum.getString("circuit"), p.getString("circuit", "closed"),
          List.of("closed", "half_open", "open")));
        JsonObject keys = sum.getJsonObject("keys");
        for (Object k : p.getJsonArray("keys", new JsonArray())) {
          JsonObject key = (JsonObject) k;
          String state = key.getBoolean("disabled", false) ? "disabled" : key.getLong("cooling_ms", 0L) > 0 ? "cooling" : "ok";
          keys.put(key.getString("id"), worse(keys.getString(key.getString("id"), "ok"), state,
            List.of("ok", "cooling", "disabled")));
        }
      });
    }
    return out;
  }

  private static String worse(String a, String b, List<String> order) {
    return order.indexOf(b) > order.indexOf(a) ? b : a;
  }

  JsonObject snapshot(JsonObject spend) {
    ClusterView view = gw.view().get();
    long now = System.currentTimeMillis();
    JsonArray nodes = new JsonArray();
    Map<String, Boolean> live = new HashMap<>();
    for (NodeEntry n : view.nodes()) {
      live.put(n.name(), true);
      gone.remove(n.name());
      JsonObject stats = byNode.getOrDefault(n.name(), new JsonObject());
      nodes.add(n.toJson().put("state", "up").put("rate", stats.getDouble("rate", 0.0))
        .put("turn_p50_ms", stats.getDouble("turn_p50_ms", 0.0)).put("turn_p99_ms", stats.getDouble("turn_p99_ms", 0.0))
        .put("cooldowns", stats.getJsonObject("keys", new JsonObject())));
    }
    for (String name : byNode.keySet()) {
      if (!live.containsKey(name) && !gone.containsKey(name)) {
        gone.put(name, new JsonObject().put("name", name).put("state", "down").put("left_at", now));
      }
    }
    byNode.keySet().removeIf(name -> !live.containsKey(name));
    gone.values().removeIf(g -> now - g.getLong("left_at") > DOWN_SHOWN_MS);
    gone.values().forEach(nodes::add);

    JsonArray agents = new JsonArray();
    for (AgentSpec a : gw.config().agents()) {
      JsonArray running = new JsonArray();
      view.instancesOf(a.id()).forEach(p -> running.add(p.toJson()));
      double queue = byNode.values().stream().mapToDouble(s -> s.getJsonObject("queues", new JsonObject())
        .getDouble(a.id(), 0.0)).sum();
      agents.add(new JsonObject().put("id", a.id()).put("trust", a.trust().id()).put("instances", a.instances())
        .put("running", running).put("queue", queue));
    }
    double rate = byNode.values().stream().mapToDouble(s -> s.getDouble("rate", 0.0)).sum();
    double messages = byNode.values().stream().mapToDouble(s -> s.getDouble("messages", 0.0)).sum();
    JsonObject keys = new JsonObject();
    JsonObject refused = new JsonObject();
    for (JsonObject s : byNode.values()) {
      s.getJsonObject("keys", new JsonObject()).forEach(e -> keys.put(e.getKey(),
        Math.min(keys.getDouble(e.getKey(), 1.0), ((Number) e.getValue()).doubleValue())));
      s.getJsonObject("refused", new JsonObject()).forEach(e -> refused.put(e.getKey(),
        refused.getDouble(e.getKey(), 0.0) + ((Number) e.getValue()).doubleValue()));
    }
    JsonArray channels = new JsonArray();
    for (HubConfig.Channel c : gw.config().channels()) {
      JsonObject counts = new JsonObject();
      byNode.values().forEach(st -> st.getJsonObject("channels", new JsonObject()).getJsonObject(c.id(), new JsonObject())
        .forEach(e -> counts.put(e.getKey(), counts.getDouble(e.getKey(), 0.0) + ((Number) e.getValue()).doubleValue())));
      channels.add(new JsonObject().put("id", c.id()).put("type", c.type().id()).put("agent", c.agent())
        .put("mode", c.mode()).put("counts", counts));
    }
    return new JsonObject().put("at", now).put("nodes", nodes).put("agents", agents).put("channels", channels)
      .put("messages_per_s", rate)
      .put("messages_total", messages).put("keys", keys).put("refused", refused).put("providers", providers(byNode.values()))
      .put("spend", spend == null ? new JsonObject() : spend)
      .put("memory", gw.memoryWriter().get() == null ? new JsonObject().put("writes", "held")
        : gw.memoryWriter().get().copy());
  }

  /** Makes the cluster's picture and its chart point (one instance per node, once a second). */
  private void record() {
    JsonObject ask = new JsonObject();
    vertx.eventBus().<JsonObject>request(LedgerVerticle.SPEND, ask, gw.signer().sign(LedgerVerticle.SPEND, ask, null))
      .map(m -> m.body()).otherwise((JsonObject) null)
      .onComplete(ar -> {
        JsonObject snapshot = snapshot(ar.result());
        JsonObject spend = snapshot.getJsonObject("spend");
        double p50 = 0;
        double p99 = 0;
        for (Object n : snapshot.getJsonArray("nodes")) {
          JsonObject node = (JsonObject) n;
          p50 = Math.max(p50, node.getDouble("turn_p50_ms", 0.0));
          p99 = Math.max(p99, node.getDouble("turn_p99_ms", 0.0));
        }
        JsonObject point = new JsonObject().put("t", snapshot.getLong("at") / 1000.0)
          .put("rate", snapshot.getDouble("messages_per_s")).put("p50", p50).put("p99", p99)
          .put("spend", spend.getDouble("month_to_date_usd", 0.0)).put("keys", snapshot.getJsonObject("keys"));
        history.addLast(point);
        if (history.size() > HISTORY_POINTS) {
          history.removeFirst();
        }
        var local = vertx.sharedData().<String, Object>getLocalMap(LOCAL_MAP);
        local.put("latest", snapshot.put("point", point));
        local.put("history", new JsonArray(new ArrayList<>(history)));
      });
  }

  void events(RoutingContext ctx) {
    HttpServerResponse response = ctx.response().setChunked(true).putHeader("Content-Type", "text/event-stream")
      .putHeader("Cache-Control", "no-cache");
    var local = vertx.sharedData().<String, Object>getLocalMap(LOCAL_MAP);
    Object history = local.get("history");
    response.write("event: history\ndata: " + (history == null ? new JsonArray() : (JsonArray) history).encode()
      + "\n\n");
    long timer = vertx.setPeriodic(0, 1_000, id -> {
      Object latest = local.get("latest");
      if (latest != null && !response.closed()) {
        response.write("data: " + ((JsonObject) latest).encode() + "\n\n");
      }
    });
    response.closeHandler(v -> vertx.cancelTimer(timer));
    response.exceptionHandler(e -> vertx.cancelTimer(timer));
  }
}
