package dev.agenthub.config;

import dev.agenthub.testing.HubYaml;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ConfigLoaderTest {

  static String defaultYaml() throws Exception {
    return Files.readString(Path.of("..", "conf", "hub.yaml"));
  }

  private static HubConfig parse(String yaml) {
    return ConfigLoader.parse(yaml, "test.yaml", Map.of(), ConfigLoader.Overrides.none());
  }

  @Test
  void theDefaultConfigHasThreeSimAgents() throws Exception {
    HubConfig config = parse(defaultYaml());
    assertThat(config.agents()).extracting(a -> a.id()).containsExactly("support", "ops", "assistant");
    assertThat(config.agent("assistant").orElseThrow().sensitive()).isTrue();
    assertThat(config.agent("support").orElseThrow().instances()).isEqualTo(2);
    assertThat(config.agent("support").orElseThrow().heartbeatMs()).isEqualTo(30 * 60_000);
    assertThat(config.node().http().port()).isEqualTo(8080);
    assertThat(config.node().http().maxBodyBytes()).isEqualTo(1024 * 1024);
    assertThat(config.cluster().enabled()).isFalse();
    assertThat(config.cluster().host()).isEqualTo("127.0.0.1");
    assertThat(config.cluster().members()).containsExactly("127.0.0.1:5701", "127.0.0.1:5702", "127.0.0.1:5703");
    assertThat(config.providers().get("sim").type()).isEqualTo(HubConfig.ProviderType.SIM);
    assertThat(config.providers().get("sim").latencyMs()).isEqualTo(40);
    assertThat(config.models().get("sim-small").cost(1_000_000, 1_000_000)).isEqualTo(0.75);
    assertThat(config.clients()).isEmpty();
    assertThat(config.agent("ops").orElseThrow().description()).startsWith("Operations:");
  }

  @Test
  void anAgentsDescriptionIsOneLineOrNone() throws Exception {
    String yaml = HubYaml.yaml("d1", 0, "");
    assertThat(parse(yaml).agent("ops").orElseThrow().description()).isNull();
    String described = yaml.replace("- { id: ops,", "- { id: ops, description: \"  Looks after the systems. \",");
    assertThat(parse(described).agent("ops").orElseThrow().description()).isEqualTo("Looks after the systems.");
    assertThat(parse(described).agent("ops").orElseThrow().toJson().getString("description"))
      .isEqualTo("Looks after the systems.");
    assertThatThrownBy(() -> parse(yaml.replace("- { id: ops,", "- { id: ops, description: \"two\\nlines\",")))
      .hasMessageContaining("agents[1].description").hasMessageContaining("one line");
    assertThatThrownBy(() -> parse(yaml.replace("- { id: ops,", "- { id: ops, description: \" \",")))
      .hasMessageContaining("agents[1].description");
  }

  @Test
  void replicatedMemoryNeedsAClusterAndAtMostSevenCopies() throws Exception {
    assertThat(parse(defaultYaml()).memory().replicas()).isEqualTo(1);
    assertThatThrownBy(() -> ConfigLoader.parse(defaultYaml(), "test.yaml", Map.of("AGENTHUB_MEMORY_REPLICAS", "3"),
      ConfigLoader.Overrides.none())).isInstanceOf(ConfigException.class)
      .hasMessageContaining("memory.replicas").hasMessageContaining("needs a cluster");
    HubConfig three = ConfigLoader.parse(defaultYaml(), "test.yaml", Map.of("AGENTHUB_MEMORY_REPLICAS", "3"),
      new ConfigLoader.Overrides(null, null, null, true));
    assertThat(three.memory().replicas()).isEqualTo(3);
    assertThatThrownBy(() -> ConfigLoader.parse(defaultYaml(), "test.yaml", Map.of("AGENTHUB_MEMORY_REPLICAS", "9"),
      new ConfigLoader.Overrides(null, null, null, true))).isInstanceOf(ConfigException.class)
      .hasMessageContaining("memory.replicas");
  }

  private static final String PROVIDER_YAML = """
    providers:
      openai: { type: openai, base-url: "https://api.openai.com/v1", %s keys: [ { id: a, secret-env: PATH } ] }
    models:
      m: { provider: openai, name: gpt-5, input: 1.25, output: 10, %s }
    agents: [ { id: a, models: { routine: m } } ]
    """;

  private static HubConfig provider(String providerKeys, String modelKeys) {
    return parse(PROVIDER_YAML.formatted(providerKeys, modelKeys));
  }

  @Test
  void providersAndModelsTakeTheKeysOfTheRealPath() {
    HubConfig plain = provider("", "cached-input: 0.125");
    HubConfig.Provider p = plain.providers().get("openai");
    assertThat(p.maxConnections()).isEqualTo(1000);
    assertThat(p.http2()).isEqualTo(HubConfig.Http2.AUTO);
    assertThat(p.circuit()).isEqualTo(new HubConfig.Circuit(5, 30_000));
    HubConfig.Model m = plain.models().get("m");
    assertThat(m.tokenParam()).isEqualTo("max_completion_tokens");
    assertThat(m.cachedInputPerMillion()).isEqualTo(0.125);
    assertThat(m.cacheWritePerMillion()).isEqualTo(1.25);
    // YAML reads a bare off/on as a boolean: it still means what it says
    assertThat(provider("http2: off,", "").providers().get("openai").http2()).isEqualTo(HubConfig.Http2.OFF);
    assertThat(provider("http2: on,", "").providers().get("openai").http2()).isEqualTo(HubConfig.Http2.ON);
    HubConfig.Provider tuned = provider("max-connections: 5000, max-waiting: 7, circuit: { failures: 2, open: 1m },",
      "token-param: max_tokens").providers().get("openai");
    assertThat(tuned.maxConnections()).isEqualTo(5000);
    assertThat(tuned.maxWaiting()).isEqualTo(7);
    assertThat(tuned.circuit()).isEqualTo(new HubConfig.Circuit(2, 60_000));
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
    "http2: sometimes, | '' | providers.openai.http2: must be auto, on or off",
    "max-connections: 0, | '' | providers.openai.max-connections",
    "circuit: { failures: 2, open: 10ms }, | '' | providers.openai.circuit.open: must be at least 100ms",
    "circuit: { fails: 2 }, | '' | providers.openai.circuit",
    "ca-file: /nonexistent.pem, | '' | providers.openai.ca-file: cannot read",
    "'' | token-param: max_output | models.m.token-param: must be max_completion_tokens or max_tokens",
    "'' | cached-input: -1 | models.m.cached-input"})
  void badProviderKeysStopTheNodeWithTheirField(String providerKeys, String modelKeys, String error) {
    assertThatThrownBy(() -> provider(providerKeys, modelKeys)).isInstanceOf(ConfigException.class)
      .hasMessageContaining(error);
  }

  @Test
  void twoClientsWithOneTokenOrABadCallbackHostStopTheNode() throws Exception {
    String sha = "a".repeat(64);
    assertThatThrownBy(() -> parse(defaultYaml().replace("clients: []", """
      clients:
        - { id: one, token-sha256: %s, agents: "*" }
        - { id: two, token-sha256: %s, agents: "*" }
      """.formatted(sha, sha)))).isInstanceOf(ConfigException.class)
      .hasMessageContaining("clients[1].token-sha256: is the same token as client 'one'");
    assertThatThrownBy(() -> parse(defaultYaml() + "batch: { callback-hosts: [\"*.example.com\"] }\n"))
      .isInstanceOf(ConfigException.class).hasMessageContaining("batch.callback-hosts");
    assertThat(parse(defaultYaml() + "batch: { callback-hosts: [Hooks.Example.com] }\n").batch().callbackHosts())
      .containsExactly("hooks.example.com");
    assertThat(parse(defaultYaml()).batch().callbackHosts()).isEmpty();
  }

  @Test
  void theEmbeddedDefaultIsTheSameFile() throws Exception {
    try (var in = ConfigLoader.class.getResourceAsStream(ConfigLoader.EMBEDDED)) {
      assertThat(in).isNotNull();
      assertThat(new String(in.readAllBytes())).isEqualTo(defaultYaml());
    }
  }

  @Test
  void theEnvironmentOverridesTheFileAndFlagsOverrideTheEnvironment() throws Exception {
    Map<String, String> env = Map.of(
      "AGENTHUB_NODE", "env-node", "AGENTHUB_HTTP_PORT", "9090", "AGENTHUB_ROLES", "a, b",
      "AGENTHUB_CLUSTER", "true", "AGENTHUB_CLUSTER_NAME", "c1", "AGENTHUB_CLUSTER_MEMBERS", "127.0.0.1:6000-6001,127.0.0.1:7000",
      "AGENTHUB_CLUSTER_PORT", "6000", "AGENTHUB_CLUSTER_HOST", "127.0.0.1", "AGENTHUB_MEMORY_DIR", "/tmp/mem");
    HubConfig config = ConfigLoader.parse(defaultYaml(), "t", env, ConfigLoader.Overrides.none());
    assertThat(config.node().name()).isEqualTo("env-node");
    assertThat(config.node().http().port()).isEqualTo(9090);
    assertThat(config.node().roles()).containsExactly("a", "b");
    assertThat(config.cluster().enabled()).isTrue();
    assertThat(config.cluster().name()).isEqualTo("c1");
    assertThat(config.cluster().port()).isEqualTo(6000);
    assertThat(config.cluster().members()).containsExactly("127.0.0.1:6000", "127.0.0.1:6001", "127.0.0.1:7000");
    assertThat(config.memory().dir()).isEqualTo("/tmp/mem");

    HubConfig flagged = ConfigLoader.parse(defaultYaml(), "t", env,
      new ConfigLoader.Overrides("flag-node", 7070, List.of("x"), null));
    assertThat(flagged.node().name()).isEqualTo("flag-node");
    assertThat(flagged.node().http().port()).isEqualTo(7070);
    assertThat(flagged.node().roles()).containsExactly("x");
  }

  @Test
  void theBridgeIsOffByDefaultAndTurnedOnByItsPortFromFileEnvironmentOrFlag() throws Exception {
    assertThat(parse(defaultYaml()).node().bridge().on()).isFalse();
    assertThat(parse(defaultYaml()).node().bridge().address()).isNull();
    HubConfig env = ConfigLoader.parse(defaultYaml(), "t", Map.of("AGENTHUB_BRIDGE_PORT", "7100"),
      ConfigLoader.Overrides.none());
    assertThat(env.node().bridge().address()).isEqualTo("127.0.0.1:7100");
    HubConfig flag = ConfigLoader.parse(defaultYaml(), "t", Map.of("AGENTHUB_BRIDGE_PORT", "7100"),
      new ConfigLoader.Overrides(null, null, null, null, 7200));
    assertThat(flag.node().bridge().port()).isEqualTo(7200);
    String base = """
      providers: { sim: { type: sim } }
      models: { m: { provider: sim } }
      agents: [ { id: a, models: { routine: m } } ]
      """;
    assertThatThrownBy(() -> parse("node: { bridge: { host: 0.0.0.0, port: 7000 } }\n" + base))
      .isInstanceOf(ConfigException.class).hasMessageContaining("node.bridge.host");
    // tokens in every frame: off this machine only inside TLS
    assertThatThrownBy(() -> parse("node: { bridge: { host: 10.0.0.5, port: 7000 } }\n" + base))
      .isInstanceOf(ConfigException.class).hasMessageContaining("node.bridge.tls");
    assertThatThrownBy(() -> parse("node: { bridge: { port: 7000, tls: { cert: /nonexistent.crt, key: /x.key } } }\n"
      + base)).isInstanceOf(ConfigException.class).hasMessageContaining("cannot read /nonexistent.crt");
    assertThatThrownBy(() -> parse("node: { bridge: { port: 7000, publish: true } }\n" + base))
      .isInstanceOf(ConfigException.class).hasMessageContaining("publish");
  }

  @Test
  void everyKeyButTheRequiredOnesHasADefault() {
    HubConfig config = parse("""
      providers: { sim: { type: sim } }
      models: { m: { provider: sim } }
      agents: [ { id: a, models: { routine: m } } ]
      """);
    assertThat(config.node().name()).isEqualTo("n1");
    assertThat(config.agents().get(0).complexModel()).isEqualTo("m");
    assertThat(config.agents().get(0).limits().maxQueue()).isEqualTo(1000);
    assertThat(config.budgets().onExceed()).isEqualTo(HubConfig.OnExceed.DOWNGRADE);
    assertThat(config.memory().fsync()).isTrue();
    assertThat(config.node().http().idleTimeoutMs()).isEqualTo(60_000);
    assertThat(config.node().http().headerTimeoutMs()).isEqualTo(10_000);
    assertThat(config.node().http().bodyTimeoutMs()).isEqualTo(30_000);
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
    "node: { http: { port: 70000 } }                              | node.http.port: must be between 0 and 65535",
    "node: { http: { port: eighty } }                             | node.http.port: must be a whole number",
    "node: { http: { max-body: lots } }                           | node.http.max-body: must be a size",
    "node: { name: 'bad name' }                                   | node.name: must be 1-64",
    "node: { http: { header-timeout: 10 } }                       | node.http.header-timeout: needs a unit",
    "node: { http: { body-timeout: 50ms } }                       | node.http.body-timeout: must be 0 (off) or between 100ms and 1h",
    "node: { http: { idle-timeout: 2h } }                         | node.http.idle-timeout: must be 0 (off) or between 100ms and 1h",
    "node: { colour: blue }                                       | node.colour: unknown field",
    "cluster: { members: ['localhost'] }                          | cluster.members: 'localhost' is not host:port",
    "cluster: { host: 0.0.0.0 }                                   | cluster.host: must be the one address",
    "agents: []                                                   | agents: must define at least one agent",
    "agents: [ { id: x, models: { routine: nope } } ]             | agents[0].models.routine: unknown model 'nope'",
    "agents: [ { id: x } ]                                        | agents[0].models: is required",
    "agents: [ { id: x, models: { routine: m }, skills: [fly] } ] | agents[0].skills: unknown skill 'fly'",
    "agents: [ { id: x, models: { routine: m }, trust: high } ]   | agents[0].trust: must be standard or sensitive",
    "agents: [ { id: x, models: { routine: m }, trust: Sensitive } ] | agents[0].trust: must be standard or sensitive, got 'Sensitive'",
    "agents: [ { id: x, models: { routine: m }, heartbeat: { every: 5 } } ] | agents[0].heartbeat.every: needs a unit",
    "agents: [ { id: x, models: { routine: m } }, { id: x, models: { routine: m } } ] | agents[1].id: duplicate agent id",
    "models: { m: { provider: ghost } }                           | models.m.provider: unknown provider 'ghost'",
    "providers: { p: { type: openai } }                           | providers.p.base-url: must be an http",
    "providers: { p: { type: openai, base-url: 'http://127.0.0.1:1', keys: [ { id: a } ] } } | providers.p.keys[0]: needs secret-env or secret-file",
    "providers: { p: { type: openai, base-url: 'http://127.0.0.1:1', keys: [ { id: a, secret: sk-123 } ] } } | providers.p.keys[0].secret: unknown field",
    "budgets: { on-exceed: shrug }                                | budgets.on-exceed: must be downgrade or block",
    "clients: [ { id: c, token-sha256: abc } ]                    | clients[0].token-sha256: must be 64 hex digits",
    "agents: [ { id: s, trust: sensitive, models: { routine: m }, skills: [http.fetch], http-hosts: [x] } ] | agents[0].skills: sensitive agent 's' may not have 'http.fetch'",
    "agents: [ { id: s, trust: sensitive, models: { routine: m }, skills: [], memory: { read: [shared] } } ] | agents[0].memory: sensitive agent 's' may reach 'shared' only if",
  })
  void aBadFieldIsNamedInOneLine(String override, String expected) {
    String base = """
      providers: { sim: { type: sim } }
      models: { m: { provider: sim } }
      agents: [ { id: a, models: { routine: m } } ]
      """;
    String key = override.substring(0, override.indexOf(':'));
    StringBuilder yaml = new StringBuilder();
    base.lines().filter(l -> !l.startsWith(key + ":")).forEach(l -> yaml.append(l).append('\n'));
    yaml.append(override).append('\n');
    if (key.equals("providers")) {
      yaml.append("");
    }
    assertThatThrownBy(() -> parse(yaml.toString()))
      .isInstanceOf(ConfigException.class)
      .hasMessageStartingWith(expected)
      .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
  }

  @Test
  void theShippedDeploymentConfigsAreValid() throws Exception {
    HubConfig compose = ConfigLoader.parse(Files.readString(Path.of("..", "deploy", "conf", "cluster.yaml")), "compose",
      Map.of("AGENTHUB_NODE", "n2"), ConfigLoader.Overrides.none());
    assertThat(compose.cluster().members()).containsExactly("hub1:5701", "hub2:5701", "hub3:5701");
    assertThat(compose.clients()).hasSize(1);
    HubConfig loopback = ConfigLoader.parse(Files.readString(Path.of("..", "deploy", "conf", "loopback.yaml")),
      "loopback compose", Map.of("AGENTHUB_NODE", "n3"), ConfigLoader.Overrides.none());
    assertThat(loopback.cluster().host()).isEqualTo("127.0.0.1");
    assertThat(loopback.node().http().host()).isEqualTo("127.0.0.1");
    String configMap = Files.readString(Path.of("..", "deploy", "kubernetes", "configmap.yaml"));
    String hubYaml = configMap.substring(configMap.indexOf("hub.yaml: |") + "hub.yaml: |".length()).lines()
      .map(l -> l.length() >= 4 ? l.substring(4) : l).reduce("", (a, b) -> a + b + "\n");
    HubConfig k8s = ConfigLoader.parse(hubYaml, "configmap", Map.of("AGENTHUB_NODE", "agenthub-memory-0",
      "AGENTHUB_MEMORY_WRITER", "false", "AGENTHUB_HTTP_HOST", "0.0.0.0"), ConfigLoader.Overrides.none());
    assertThat(k8s.cluster().kubernetes()).isTrue();
    assertThat(k8s.memory().writer()).isFalse();
    assertThat(k8s.node().http().host()).isEqualTo("0.0.0.0");
    assertThat(k8s.providers().get("openai").keys().get(0).secretFile()).isEqualTo("/secrets/openai/key-a");
  }

  @Test
  void aSensitiveAgentMayUseLocalProvidersOnly() {
    assertThatThrownBy(() -> parse("""
      providers:
        sim: { type: sim }
        cloud: { type: openai, base-url: "https://api.example.com/v1", keys: [ { id: a, secret-env: X } ] }
      models: { m: { provider: sim, fallbacks: [c] }, c: { provider: cloud } }
      agents: [ { id: s, trust: sensitive, models: { routine: m }, skills: [] } ]
      """)).hasMessage("agents[0].models: sensitive agent 's' may use local providers only; model 'c' runs on 'cloud' (local: false)");
  }

  @Test
  void invalidYamlNamesTheLine() {
    assertThatThrownBy(() -> parse("node:\n  name: [unclosed\n"))
      .isInstanceOf(ConfigException.class)
      .hasMessageContaining("test.yaml: not valid YAML at line")
      .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
  }

  @Test
  void aMissingRequiredSectionIsNamed() {
    assertThatThrownBy(() -> parse("node: { name: n1 }"))
      .hasMessage("providers: is required");
  }

  @Test
  void aMissingFileIsNamed() {
    assertThatThrownBy(() -> ConfigLoader.load(Path.of("/nonexistent/hub.yaml"), Map.of(), ConfigLoader.Overrides.none()))
      .isInstanceOf(ConfigException.class)
      .hasMessageContaining("cannot read /nonexistent/hub.yaml");
  }

  @Test
  void clientsMayComeFromAFileOfTheirOwn() throws Exception {
    Path file = Files.createTempFile("clients", ".yaml");
    Files.writeString(file, "clients:\n  - { id: ops-team, token-sha256: " + "a".repeat(64) + ", agents: \"*\", admin: true }\n");
    HubConfig c = ConfigLoader.parse(HubYaml.yaml("cf1", 0, ""), "test", Map.of("AGENTHUB_CLIENTS_FILE", file.toString()),
      ConfigLoader.Overrides.none());
    assertThat(c.clients()).extracting(HubConfig.Client::id).containsExactly("ops-team");
    assertThatThrownBy(() -> ConfigLoader.parse(HubYaml.yaml("cf1", 0, ""), "test",
      Map.of("AGENTHUB_CLIENTS_FILE", file + ".missing"), ConfigLoader.Overrides.none()))
      .isInstanceOf(ConfigException.class).hasMessageStartingWith("AGENTHUB_CLIENTS_FILE");
    Files.writeString(file, "id: not-a-list\n");
    assertThatThrownBy(() -> ConfigLoader.parse(HubYaml.yaml("cf1", 0, ""), "test",
      Map.of("AGENTHUB_CLIENTS_FILE", file.toString()), ConfigLoader.Overrides.none()))
      .isInstanceOf(ConfigException.class).hasMessageContaining("must hold a list of clients");
  }

  @Test
  void aNodeNeedsTheKeysOfTheProvidersItsOwnAgentsUseOnly() {
    String yaml = """
      node: { name: k1, roles: [secure] }
      providers:
        sim: { type: sim }
        cloud: { type: openai, base-url: "https://api.example.test/v1", keys: [ { id: a, secret-env: CLOUD_KEY } ] }
      models:
        big: { provider: cloud, input: 1, output: 1 }
        local: { provider: sim, input: 0, output: 0 }
      agents:
        - { id: support, roles: [general], models: { routine: big } }
        - { id: vault, roles: [secure], trust: sensitive, models: { routine: local } }
      """;
    // a node for the sensitive agent only: the cloud key is not needed there
    HubConfig secure = ConfigLoader.parse(yaml, "test", Map.of(), ConfigLoader.Overrides.none());
    assertThat(Secrets.load(secure, Map.of())).isEmpty();
    // a node that runs support needs it, and says which field
    HubConfig general = ConfigLoader.parse(yaml.replace("roles: [secure] }", "roles: [general] }"), "test", Map.of(),
      ConfigLoader.Overrides.none());
    assertThatThrownBy(() -> Secrets.load(general, Map.of())).isInstanceOf(ConfigException.class)
      .hasMessageContaining("providers.cloud.keys[0].secret-env");
    assertThat(Secrets.load(general, Map.of("CLOUD_KEY", "sk-x"))).containsEntry("cloud/a", "sk-x");
  }
}
