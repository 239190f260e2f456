/**
 * The benchmarks behind {@code scripts/bench}: messages through nodes, the event-bus door, the
 * governor, providers and the memory store; each prints its figures.
 */
package dev.agenthub.devtools.bench;
