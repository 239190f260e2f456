package dev.agenthub.config;

import dev.agenthub.agents.AgentSpec;
import dev.agenthub.agents.Skill;

import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Reads hub.yaml, applies the environment and command-line overrides, and validates everything
 * into a {@link HubConfig}. Every problem is one {@link ConfigException} naming the field. The
 * loader coordinates; each group of sections is read by its own class: {@link NodeConfig} (node,
 * cluster, memory), {@link ProviderConfig} (providers, models), {@link AgentConfig} (agents and
 * trust), {@link AccessConfig} (budgets, clients, telemetry, journals, batch), all on the strict
 * field reader {@link Fields}.
 */
public final class ConfigLoader {

  /** Where the embedded default lives inside the jar. */
  public static final String EMBEDDED = "/agenthub/hub.yaml";

  static final Set<String> SKILLS = Skill.ids();
  static final Pattern HOST = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*");
  static final Pattern NAME = Pattern.compile("[A-Za-z0-9_.-]{1,64}");
  static final Pattern CLIENT_ID = Pattern.compile("[A-Za-z0-9_@-][A-Za-z0-9_.@-]{0,63}");
  static final Pattern AGENT_ID = Pattern.compile("[a-z0-9][a-z0-9_-]{0,63}");
  static final Pattern MEMBER = Pattern.compile("([^:\\s]+):(\\d{1,5})(?:-(\\d{1,5}))?");
  static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
  static final long DEFAULT_MAX_BODY = 1024 * 1024;

  /**
   * Command-line overrides; null fields keep the file's or the environment's value.
   */
  public record Overrides(String node, Integer httpPort, List<String> roles, Boolean cluster, Integer bridgePort) {
    public Overrides(String node, Integer httpPort, List<String> roles, Boolean cluster) {
      this(node, httpPort, roles, cluster, null);
    }

    public static Overrides none() {
      return new Overrides(null, null, null, null, null);
    }
  }

  private ConfigLoader() {
  }

  /**
   * Loads {@code file} if given, else {@code AGENTHUB_CONF}, else {@code conf/hub.yaml} in the working
   * directory, else the default embedded in the jar.
   */
  public static HubConfig load(Path file, Map<String, String> env, Overrides overrides) {
    Path chosen = file;
    if (chosen == null && env.get("AGENTHUB_CONF") != null && !env.get("AGENTHUB_CONF").isBlank()) {
      chosen = Path.of(env.get("AGENTHUB_CONF"));
    }
    if (chosen == null && Files.isRegularFile(Path.of("conf", "hub.yaml"))) {
      chosen = Path.of("conf", "hub.yaml");
    }
    String text;
    String source;
    if (chosen != null) {
      source = chosen.toString();
      try {
        text = Files.readString(chosen, StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new ConfigException("--conf", "cannot read " + chosen + " (" + e.getClass().getSimpleName() + ")");
      }
    } else {
      source = "embedded default";
      try (InputStream in = ConfigLoader.class.getResourceAsStream(EMBEDDED)) {
        if (in == null) {
          throw new ConfigException("--conf", "no file given and no embedded default in the jar");
        }
        text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new ConfigException("--conf", "cannot read the embedded default");
      }
    }
    return parse(text, source, env, overrides);
  }

  /** A YAML text alone: no environment, no command-line overrides (tests, tools). */
  public static HubConfig parse(String yaml) {
    return parse(yaml, "test", Map.of(), Overrides.none());
  }

  /** Parses YAML text; {@code source} names it in messages and in the result. */
  public static HubConfig parse(String yaml, String source, Map<String, String> env, Overrides overrides) {
    Object root;
    try {
      LoaderOptions options = new LoaderOptions();
      options.setAllowDuplicateKeys(false);
      root = new Yaml(new SafeConstructor(options)).load(yaml);
    } catch (MarkedYAMLException e) {
      var mark = e.getProblemMark();
      String where = mark == null ? "" : " at line " + (mark.getLine() + 1) + ", column " + (mark.getColumn() + 1);
      throw new ConfigException(source, "not valid YAML" + where + ": " + e.getProblem());
    } catch (YAMLException e) {
      throw new ConfigException(source, "not valid YAML: " + e.getMessage().lines().findFirst().orElse(""));
    }
    if (root == null) {
      throw new ConfigException(source, "is empty");
    }
    if (!(root instanceof Map)) {
      throw new ConfigException(source, "must be a mapping at the top level");
    }
    @SuppressWarnings("unchecked")
    Map<String, Object> map = (Map<String, Object>) root;
    applyEnvironment(map, env);
    applyOverrides(map, overrides);
    return validate(map, source);
  }

  private static void applyEnvironment(Map<String, Object> root, Map<String, String> env) {
    setIfPresent(root, env, "AGENTHUB_NODE", List.of("node", "name"), false);
    setIfPresent(root, env, "AGENTHUB_HTTP_PORT", List.of("node", "http", "port"), false);
    setIfPresent(root, env, "AGENTHUB_ROLES", List.of("node", "roles"), true);
    setIfPresent(root, env, "AGENTHUB_CLUSTER", List.of("cluster", "enabled"), false);
    setIfPresent(root, env, "AGENTHUB_CLUSTER_NAME", List.of("cluster", "name"), false);
    setIfPresent(root, env, "AGENTHUB_CLUSTER_MEMBERS", List.of("cluster", "members"), true);
    setIfPresent(root, env, "AGENTHUB_CLUSTER_PORT", List.of("cluster", "port"), false);
    setIfPresent(root, env, "AGENTHUB_CLUSTER_HOST", List.of("cluster", "host"), false);
    setIfPresent(root, env, "AGENTHUB_MEMORY_DIR", List.of("memory", "dir"), false);
    setIfPresent(root, env, "AGENTHUB_MEMORY_WRITER", List.of("memory", "writer"), false);
    setIfPresent(root, env, "AGENTHUB_MEMORY_REPLICAS", List.of("memory", "replicas"), false);
    setIfPresent(root, env, "AGENTHUB_HTTP_HOST", List.of("node", "http", "host"), false);
    setIfPresent(root, env, "AGENTHUB_BRIDGE_PORT", List.of("node", "bridge", "port"), false);
    clientsFromFile(root, env.get("AGENTHUB_CLIENTS_FILE"));
  }

  /**
   * {@code AGENTHUB_CLIENTS_FILE}: the API clients (a YAML list, or {@code clients: [...]}) from a
   * file of their own, in place of the config's: tokens' hashes and admin rights then live in a
   * Secret, not in a ConfigMap anyone who reads the config can see.
   */
  private static void clientsFromFile(Map<String, Object> root, String file) {
    if (file == null || file.isBlank()) {
      return;
    }
    String text;
    try {
      text = Files.readString(Path.of(file.trim()), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new ConfigException("AGENTHUB_CLIENTS_FILE", "cannot read " + file);
    }
    Object parsed;
    try {
      parsed = new Yaml(new SafeConstructor(new LoaderOptions())).load(text);
    } catch (YAMLException e) {
      throw new ConfigException("AGENTHUB_CLIENTS_FILE", file + " is not valid YAML");
    }
    Object clients = parsed instanceof Map<?, ?> m ? m.get("clients") : parsed;
    if (!(clients instanceof List)) {
      throw new ConfigException("AGENTHUB_CLIENTS_FILE", file + " must hold a list of clients (or clients: [...])");
    }
    root.put("clients", clients);
  }

  private static void setIfPresent(Map<String, Object> root, Map<String, String> env, String var,
                                   List<String> path, boolean commaList) {
    String value = env.get(var);
    if (value == null || value.isBlank()) {
      return;
    }
    Object typed = commaList
      ? Arrays.stream(value.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList()
      : value.trim();
    put(root, path, typed);
  }

  private static void applyOverrides(Map<String, Object> root, Overrides o) {
    if (o.node() != null) {
      put(root, List.of("node", "name"), o.node());
    }
    if (o.httpPort() != null) {
      put(root, List.of("node", "http", "port"), o.httpPort());
    }
    if (o.bridgePort() != null) {
      put(root, List.of("node", "bridge", "port"), o.bridgePort());
    }
    if (o.roles() != null) {
      put(root, List.of("node", "roles"), o.roles());
    }
    if (o.cluster() != null) {
      put(root, List.of("cluster", "enabled"), o.cluster());
    }
  }

  @SuppressWarnings("unchecked")
  private static void put(Map<String, Object> root, List<String> path, Object value) {
    Map<String, Object> current = root;
    for (int i = 0; i < path.size() - 1; i++) {
      Object next = current.get(path.get(i));
      if (!(next instanceof Map)) {
        next = new LinkedHashMap<String, Object>();
        current.put(path.get(i), next);
      }
      current = (Map<String, Object>) next;
    }
    current.put(path.get(path.size() - 1), value);
  }

  private static HubConfig validate(Map<String, Object> map, String source) {
    Fields root = new Fields("", map, Set.of("node", "cluster", "memory", "providers", "models", "agents",
      "budgets", "clients", "ledger", "audit", "batch", "telemetry", "mcp", "channels"));
    root.rejectUnknown();
    HubConfig.Node node = NodeConfig.node(root);
    HubConfig.Cluster cluster = NodeConfig.cluster(root);
    Fields mem = NodeConfig.memorySection(root);
    HubConfig.Memory memory = NodeConfig.memory(mem);
    if (memory.replicas() > 1 && !cluster.enabled()) {
      throw new ConfigException(mem.field("replicas"), "above 1 needs a cluster (cluster.enabled or --cluster): "
        + "replicas are other memory nodes");
    }
    if (!root.has("providers")) {
      throw new ConfigException("providers", "is required");
    }
    Map<String, HubConfig.Provider> providers = ProviderConfig.providers(root.section("providers", null));
    if (!root.has("models")) {
      throw new ConfigException("models", "is required");
    }
    Map<String, HubConfig.Model> models = ProviderConfig.models(root.section("models", null), providers);
    if (!root.has("agents")) {
      throw new ConfigException("agents", "is required");
    }
    List<AgentSpec> agents = AgentConfig.agents(root, models);
    AgentConfig.checkTrust(agents, models, providers, mem.strings("sensitive-readable", List.of()));
    HubConfig.Mcp mcp = McpConfig.mcp(root);
    McpConfig.checkSkills(agents, mcp);
    HubConfig.Budgets budgets = AccessConfig.budgets(root);
    List<HubConfig.Client> clients = AccessConfig.clients(root, agents);
    if (node.http().clientRps() < 0) {
      // by default only a hub with API clients (one open beyond loopback) bounds each client's rate
      HubConfig.Http h = node.http();
      node = new HubConfig.Node(node.name(), node.roles(), new HubConfig.Http(h.host(), h.port(), h.maxBodyBytes(),
        h.requestTimeoutMs(), clients.isEmpty() ? 0 : 100, h.idleTimeoutMs(), h.headerTimeoutMs(), h.bodyTimeoutMs()),
      node.bridge());
    }
    HubConfig.Operations operations = AccessConfig.operations(root);
    HubConfig.Batch batch = AccessConfig.batch(root);
    return new HubConfig(node, cluster, memory, providers, models, agents, budgets, clients,
      AccessConfig.ledgerDir(root), AccessConfig.auditDir(root), source, batch, operations, mcp,
      ChannelConfig.channels(root, agents, clients));
  }

  public static long durationMs(String field, String text) {
    return Fields.parseDurationMs(field, text);
  }

  /** {@code host:port} or {@code host:port-port} to single {@code host:port} entries. */
  static List<String> expandMember(String field, String member) {
    var m = MEMBER.matcher(member.trim());
    if (!m.matches()) {
      throw new ConfigException(field, "'" + member + "' is not host:port or host:port-port");
    }
    int from = Integer.parseInt(m.group(2));
    int to = m.group(3) == null ? from : Integer.parseInt(m.group(3));
    if (from < 1 || to > 65535 || to < from || to - from > 100) {
      throw new ConfigException(field, "'" + member + "' has a bad port range");
    }
    List<String> out = new ArrayList<>();
    for (int p = from; p <= to; p++) {
      out.add(m.group(1) + ":" + p);
    }
    return out;
  }

  static List<Object> rawKeys(Fields f) {
    return new ArrayList<>(f.keys());
  }
}
