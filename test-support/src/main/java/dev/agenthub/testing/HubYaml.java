package dev.agenthub.testing;

import java.nio.file.Path;

/** The YAML of test nodes, all on 127.0.0.1: sim models, three agents, fresh directories. */
public final class HubYaml {

  private HubYaml() {
  }

  /** The {@code node:} line of a test node: a free port, a 4KiB body limit. */
  public static String node(String name, String roles) {
    return "node: { name: %s, roles: [%s], http: { port: 0, max-body: 4KiB, request-timeout: 30s } }\n"
      .formatted(name, roles);
  }

  /** A config with the three default agents; {@code extra} is appended YAML (new top-level keys only). */
  public static String yaml(String nodeName, int latencyMs, String extra) {
    return yamlWithNode(node(nodeName, "general"), latencyMs, extra);
  }

  public static String yamlWithNode(String nodeLine, int latencyMs, String extra) {
    String memory = extra.contains("memory:") ? "" : memoryYaml(Fixtures.freshDir());
    String ledger = extra.contains("ledger:") ? "" : "ledger: { dir: \"" + Fixtures.freshDir() + "\" }\n"
      + "audit: { dir: \"" + Fixtures.freshDir() + "\" }\n";
    return nodeLine + memory + ledger + simModels(latencyMs) + """
      agents:
        - { id: support, instances: 2, models: { routine: sim-small, complex: sim-large },
            skills: [memory.read, memory.append, time.now, agent.delegate] }
        - { id: ops, models: { routine: sim-small, complex: sim-large } }
        - { id: assistant, trust: sensitive, models: { routine: sim-small, complex: sim-large } }
      """ + extra;
  }

  /** The built-in sim provider ({@code latency-ms}) and its two models, {@code sim-large} and {@code sim-small}. */
  public static String simModels(int latencyMs) {
    return """
      providers: { sim: { type: sim, latency-ms: %d } }
      models:
        sim-large: { provider: sim, input: 2.50, output: 10.00 }
        sim-small: { provider: sim, input: 0.15, output: 0.60 }
      """.formatted(latencyMs);
  }

  /** A cluster section with a unique name and a random port range, so parallel runs never merge. */
  public static String clusterYaml(String name, int basePort) {
    return """
      cluster: { enabled: true, name: %s, host: 127.0.0.1, port: %d, members: ["127.0.0.1:%d-%d"] }
      """.formatted(name, basePort, basePort, basePort + 2);
  }

  /** A node of a cluster whose memory has three copies, this one on {@code dir}. */
  public static String replicaYaml(String name, String cluster, int port, Path dir) {
    return yamlWithNode(node(name, "general"), 0, clusterYaml(cluster, port)
      + "memory: { dir: \"" + dir + "\", replicas: 3 }\n");
  }

  /** A memory section on {@code dir}; nodes sharing a directory stand in for nodes on shared storage. */
  public static String memoryYaml(Path dir) {
    return "memory: { dir: \"" + dir + "\" }\n";
  }
}
