/**
 * The fixtures every module's tests share: {@link dev.agenthub.testing.Fixtures} (directories,
 * memory files, ports, waiting, certificates) and {@link dev.agenthub.testing.HubYaml} (a test node's YAML).
 */
package dev.agenthub.testing;
