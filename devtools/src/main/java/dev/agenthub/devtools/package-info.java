/**
 * Tools for developing and measuring the hub, never in the product jar: {@link dev.agenthub.devtools.DevTools}
 * is the command line of {@code agenthub-devtools.jar} ({@code mock-llm}, {@code bench}).
 */
package dev.agenthub.devtools;
