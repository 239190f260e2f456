/**
 * The node's meters ({@link dev.agenthub.hub.metrics.HubMetrics}, one registry, the agents' and the
 * governor's events) and its audit log. See "Contract: metric names".
 */
package dev.agenthub.hub.metrics;
