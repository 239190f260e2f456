package dev.agenthub.governor;

import dev.agenthub.governor.ledger.Spend;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.json.JsonObject;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** What the governor's parts report, kept for a test to read. */
final class RecordingEvents implements GovernorEvents {

  final MeterRegistry registry = new SimpleMeterRegistry();
  final List<String> audits = new CopyOnWriteArrayList<>();
  final List<String> refused = new CopyOnWriteArrayList<>();
  final List<String> cacheHits = new CopyOnWriteArrayList<>();
  /** {@code model -> fallback}, one per fallback taken. */
  final List<String> fallbacks = new CopyOnWriteArrayList<>();
  /** {@code model outcome}, one per attempt. */
  final List<String> modelCalls = new CopyOnWriteArrayList<>();
  /** The cost of each priced answer, in USD. */
  final List<Double> usageUsd = new CopyOnWriteArrayList<>();

  @Override
  public void audit(String type, JsonObject detail) {
    audits.add(type);
  }

  @Override
  public MeterRegistry registry() {
    return registry;
  }

  @Override
  public void refused(String reason) {
    refused.add(reason);
  }

  @Override
  public void rateLimitWait(String key, long nanos) {
  }

  @Override
  public void cacheHit(String model) {
    cacheHits.add(model);
  }

  @Override
  public void fallback(String model, String fallback) {
    fallbacks.add(model + " -> " + fallback);
  }

  @Override
  public void modelCall(String agent, String model, String provider, String outcome, long nanos) {
    modelCalls.add(model + " " + outcome);
  }

  @Override
  public void usage(String agent, String model, long input, long output, double usd) {
    usageUsd.add(usd);
  }

  @Override
  public void budgetAlert(String scope, double threshold) {
  }

  @Override
  public void budgets(List<Spend.Budget> budgets) {
  }
}
