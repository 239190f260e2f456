/**
 * {@code agenthub plan}: what a month of messages costs with the configured models, and the cut a
 * routine/complex mix makes. See "Contract: the planner".
 */
package dev.agenthub.hub.planner;
