/**
 * Shared memory: the Markdown files agents remember with, written by exactly one writer.
 * {@link dev.agenthub.memory.MarkdownStore} is the plain-Java store (names, group-committed journal,
 * crash recovery); {@link dev.agenthub.memory.SharedMemoryVerticle} serves it on the event bus as the
 * cluster's single writer; {@link dev.agenthub.memory.MemoryClient} is what agents use.
 */
package dev.agenthub.memory;
