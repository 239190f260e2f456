/**
 * A node's configuration: {@link dev.agenthub.config.ConfigLoader} reads the YAML (and the command
 * line's overrides) once at start into {@link dev.agenthub.config.HubConfig}, validated and immutable;
 * each section has its reader, which names its own keys (NodeConfig, ProviderConfig, AgentConfig,
 * AccessConfig, on the strict {@code Fields}); {@link dev.agenthub.config.Secrets} reads the secrets the
 * config names, from the environment or files. See "Contract: configuration" in docs/ARCHITECTURE.md.
 */
package dev.agenthub.config;
