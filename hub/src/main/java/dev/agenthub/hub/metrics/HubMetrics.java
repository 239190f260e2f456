package dev.agenthub.hub.metrics;

import dev.agenthub.channels.ChannelEvents;
import dev.agenthub.governor.GovernorEvents;
import dev.agenthub.governor.ledger.Spend;
import dev.agenthub.mcp.McpEvents;
import dev.agenthub.protocol.AgentEvents;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.vertx.core.json.JsonObject;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * The agenthub_* meters of "Contract: metric names", on the node's one registry (the same one Vert.x
 * reports into). Micrometer caches meters by name and tags, so these builders are cheap lookups.
 */
public final class HubMetrics implements AgentEvents, GovernorEvents, McpEvents, ChannelEvents {

  private final MeterRegistry registry;
  private final AuditLog audit;

  public HubMetrics(MeterRegistry registry) {
    this(registry, null);
  }

  public HubMetrics(MeterRegistry registry, AuditLog audit) {
    this.registry = registry;
    this.audit = audit;
  }

  /** Writes an audit line (refusals, authentication failures, budget blocks), if this node keeps one. */
  @Override
  public void audit(String type, JsonObject detail) {
    if (audit != null) {
      audit.record(type, detail);
    }
  }

  @Override
  public MeterRegistry registry() {
    return registry;
  }

  public void message(String agent, String outcome, long nanos) {
    Counter messages = meter("messages\u0000" + agent + "\u0000" + outcome, () -> Counter.builder("agenthub_messages")
      .description("Messages answered by the gateway, by outcome").tags("agent", agent, "outcome", outcome)
      .register(registry));
    messages.increment();
    if ("ok".equals(outcome)) {
      Timer turns = meter("turns\u0000" + agent, () -> Timer.builder("agenthub_turn_seconds")
        .description("Turn latency seen by the gateway").tags("agent", agent).publishPercentileHistogram()
        .minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofMinutes(2)).register(registry));
      turns.record(Duration.ofNanos(nanos));
    }
  }

  @Override
  public void refused(String agent, String reason) {
    refused(reason);
    audit(reason + "_refused", new JsonObject().put("agent", agent).put("to", "agent"));
  }

  @Override
  public void route(String agent, String route) {
    Counter turns = meter("route\u0000" + agent + "\u0000" + route, () -> Counter.builder("agenthub_route")
      .description("Turns by model route").tags("agent", agent, "route", route).register(registry));
    turns.increment();
  }

  @Override
  public void toolCall(String agent, String client, String server, String tool, long nanos, String outcome,
                       String argumentsSha256) {
    Counter.builder("agenthub_tool_calls").description("MCP tool calls by server, tool and outcome")
      .tags("server", server, "tool", tool, "outcome", outcome).register(registry).increment();
    Timer.builder("agenthub_tool_call_seconds").description("MCP tool calls' time, as the hub saw it")
      .tags("server", server, "tool", tool).publishPercentileHistogram().register(registry)
      .record(Duration.ofNanos(nanos));
    JsonObject line = new JsonObject().put("agent", agent).put("server", server).put("tool", tool)
      .put("duration_ms", nanos / 1_000_000).put("outcome", outcome).put("arguments_sha256", argumentsSha256);
    if (client != null) {
      line.put("client", client);
    }
    audit("tool_call", line);
  }

  @Override
  public void channelMessage(String channel, String direction, String outcome) {
    Counter.builder("agenthub_channel_messages").description("Channel messages by direction and outcome")
      .tags("channel", channel, "direction", direction, "outcome", outcome).register(registry).increment();
  }

  @Override
  public void channelSend(String channel, long nanos) {
    Timer.builder("agenthub_channel_send_seconds").description("A channel message from its first try to the "
      + "platform's answer, pacing included").tags("channel", channel).publishPercentileHistogram()
      .register(registry).record(Duration.ofNanos(nanos));
  }

  @Override
  public void server(String server, String what) {
    Counter.builder("agenthub_mcp_server_events").description("MCP servers started, failed to start, died")
      .tags("server", server, "event", what).register(registry).increment();
  }

  @Override
  public void skill(String agent, String skill, String outcome) {
    Counter.builder("agenthub_skill_calls").description("Skill (tool) calls by outcome")
      .tags("agent", agent, "skill", skill, "outcome", outcome).register(registry).increment();
    if ("refused".equals(outcome)) {
      refused("skill_not_allowed");
      audit("skill_refused", new JsonObject().put("agent", agent).put("skill", skill));
    }
  }

  @Override
  public void heartbeat(String agent, String outcome) {
    Counter.builder("agenthub_heartbeats").description("Heartbeats by outcome").tags("agent", agent, "outcome", outcome)
      .register(registry).increment();
  }

  @Override
  public void rateLimitWait(String key, long nanos) {
    Timer.builder("agenthub_ratelimit_wait_seconds").description("Time calls waited for a key with room")
      .tags("key", key).register(registry).record(Duration.ofNanos(nanos));
  }

  @Override
  public void cacheHit(String model) {
    Counter.builder("agenthub_cache_hits").description("Model calls answered from the response cache")
      .tags("model", model).register(registry).increment();
  }

  @Override
  public void fallback(String model, String fallback) {
    Counter.builder("agenthub_fallbacks").description("Calls moved to a fallback model")
      .tags("model", model, "fallback", fallback).register(registry).increment();
  }

  @Override
  public void budgetAlert(String scope, double threshold) {
    Counter.builder("agenthub_budget_alerts").description("Budget thresholds crossed")
      .tags("scope", scope, "threshold", Double.toString(threshold)).register(registry).increment();
  }

  /** A member of the cluster named an intruder: it did not prove it holds the cluster secret. */
  public void intruder() {
    Counter.builder("agenthub_intruders").description("Members named intruders: they did not prove they hold the "
      + "cluster secret").register(registry).increment();
  }

  @Override
  public void refused(String reason) {
    Counter.builder("agenthub_refused").description("Requests refused, by reason")
      .tags("reason", reason).register(registry).increment();
  }

  // the meters of every model call, by their tags: a registry lookup builds an id each time, which a
  // node answering thousands of calls a second notices
  private final ConcurrentHashMap<String, Object> meters = new ConcurrentHashMap<>();

  @SuppressWarnings("unchecked")
  private <M> M meter(String key, Supplier<M> make) {
    return (M) meters.computeIfAbsent(key, k -> make.get());
  }

  @Override
  public void modelCall(String agent, String model, String provider, String outcome, long nanos) {
    Counter calls = meter("calls\u0000" + agent + "\u0000" + model + "\u0000" + provider + "\u0000" + outcome,
      () -> Counter.builder("agenthub_model_calls").description("Model calls by outcome")
        .tags("agent", agent, "model", model, "provider", provider, "outcome", outcome).register(registry));
    calls.increment();
    Timer seconds = meter("seconds\u0000" + provider + "\u0000" + model,
      () -> Timer.builder("agenthub_model_seconds").description("Model call latency")
        .tags("provider", provider, "model", model).publishPercentileHistogram()
        .minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofMinutes(2)).register(registry));
    seconds.record(Duration.ofNanos(nanos));
  }

  public void memoryWrite(long nanos) {
    Timer.builder("agenthub_memory_write_seconds").description("Durable memory writes, queue to fsync to ack")
      .publishPercentileHistogram().minimumExpectedValue(Duration.ofNanos(100_000))
      .maximumExpectedValue(Duration.ofSeconds(10)).register(registry).record(Duration.ofNanos(nanos));
  }

  @Override
  public void usage(String agent, String model, long input, long output, double usd) {
    String key = agent + "\u0000" + model;
    Counter[] c = meter("usage\u0000" + key, () -> new Counter[]{
      Counter.builder("agenthub_tokens").tags("agent", agent, "model", model, "direction", "input").register(registry),
      Counter.builder("agenthub_tokens").tags("agent", agent, "model", model, "direction", "output").register(registry),
      Counter.builder("agenthub_spend_usd").description("Spend in USD").tags("agent", agent, "model", model)
        .register(registry)});
    c[0].increment(input);
    c[1].increment(output);
    c[2].increment(usd);
  }

  // each budget's last measure, read by its gauges (one set per scope, registered once)
  private final ConcurrentHashMap<String, double[]> budgetValues =
    new ConcurrentHashMap<>();

  /**
   * The budgets as the ledger last measured them: {@code agenthub_budget_used_ratio} (spent over
   * limit), {@code agenthub_budget_held_usd} (held for calls in flight), {@code agenthub_budget_used_usd}
   * and {@code agenthub_budget_limit_usd}, tagged by scope.
   */
  @Override
  public void budgets(List<Spend.Budget> budgets) {
    for (var b : budgets) {
      double[] v = budgetValues.computeIfAbsent(b.scope(), scope -> {
        double[] values = new double[4];
        Gauge.builder("agenthub_budget_used_ratio", values, x -> x[0]).description("Budget spent over its limit")
          .tags("scope", scope).register(registry);
        Gauge.builder("agenthub_budget_held_usd", values, x -> x[1])
          .description("USD held against the budget for calls in flight").tags("scope", scope).register(registry);
        Gauge.builder("agenthub_budget_used_usd", values, x -> x[2]).description("USD spent in the budget's period")
          .tags("scope", scope).register(registry);
        Gauge.builder("agenthub_budget_limit_usd", values, x -> x[3]).description("The budget's limit in USD")
          .tags("scope", scope).register(registry);
        return values;
      });
      v[0] = b.ratio();
      v[1] = b.heldUsd();
      v[2] = b.usedUsd();
      v[3] = b.limitUsd();
    }
  }
}
