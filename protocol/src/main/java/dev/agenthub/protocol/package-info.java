/**
 * What crosses the event bus between the actors, and nothing else (no verticle): turns
 * ({@link dev.agenthub.protocol.Turn}) and model calls ({@link dev.agenthub.protocol.ModelCall}),
 * the one failure type ({@link dev.agenthub.protocol.Failure}), the per-message authenticator
 * ({@link dev.agenthub.protocol.MessageAuth}), the addresses of users' applications
 * ({@link dev.agenthub.protocol.EventBusApi}), hashing and log fields.
 */
package dev.agenthub.protocol;
