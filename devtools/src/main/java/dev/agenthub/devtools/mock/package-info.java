/**
 * The mock LLM the tests and the demo talk to: OpenAI's and Anthropic's APIs as strict as the real
 * ones (what they refuse, it refuses), each key's limits enforced, at a latency of choice.
 */
package dev.agenthub.devtools.mock;
