package dev.agenthub.governor;

import dev.agenthub.governor.ledger.LedgerEvents;

import io.micrometer.core.instrument.MeterRegistry;

/**
 * What the governor reports to the node (and, through {@link LedgerEvents}, the ledger): the meters
 * of "Contract: metric names" that are theirs, and audit lines. The node implements it over its one
 * registry and audit log.
 */
public interface GovernorEvents extends LedgerEvents {

  /** The node's registry, for the gauges of key pools and lanes. */
  MeterRegistry registry();

  void rateLimitWait(String key, long nanos);

  void cacheHit(String model);

  void fallback(String model, String fallback);

  void modelCall(String agent, String model, String provider, String outcome, long nanos);

  void usage(String agent, String model, long input, long output, double usd);
}
