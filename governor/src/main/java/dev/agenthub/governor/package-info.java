/**
 * The governor, one of the design's three actors: every model call of a node goes through
 * {@link dev.agenthub.governor.GovernorVerticle} on {@code governor.complete}. Start there, then its
 * plain parts: admission (client tokens per minute, budget holds), key pools and cluster-exact
 * limiters, provider lanes and clients (OpenAI, Anthropic, the built-in sim), the response cache,
 * fallbacks and costing. It reports through {@link dev.agenthub.governor.GovernorEvents}. See "The
 * governor" in docs/ARCHITECTURE.md.
 */
package dev.agenthub.governor;
