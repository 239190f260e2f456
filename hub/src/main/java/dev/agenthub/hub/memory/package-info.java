/**
 * The node's view of the memory writer: which node writes, in which epoch, and whether writes
 * go through ({@link dev.agenthub.hub.memory.MemoryProbe}), for readiness and {@code /v1/cluster}.
 */
package dev.agenthub.hub.memory;
