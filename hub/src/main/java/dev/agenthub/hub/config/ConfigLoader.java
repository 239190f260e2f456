package dev.agenthub.hub.config;

import dev.agenthub.agents.AgentSpec;
import dev.agenthub.agents.Skill;
import dev.agenthub.memory.MarkdownStore;

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
import java.time.DateTimeException;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Reads hub.yaml, applies the environment and command-line overrides, and validates everything
 * into a {@link HubConfig}. Every problem is one {@link ConfigException} naming the field.
 */
public final class ConfigLoader {

  /** Where the embedded default lives inside the jar. */
  public static final String EMBEDDED = "/agenthub/hub.yaml";

  static final Set<String> SKILLS = Skill.ids();
  private static final Pattern HOST = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*");
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_.-]{1,64}");
  private static final Pattern CLIENT_ID = Pattern.compile("[A-Za-z0-9_@-][A-Za-z0-9_.@-]{0,63}");
  private static final Pattern AGENT_ID = Pattern.compile("[a-z0-9][a-z0-9_-]{0,63}");
  private static final Pattern MEMBER = Pattern.compile("([^:\\s]+):(\\d{1,5})(?:-(\\d{1,5}))?");
  private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
  private static final long DEFAULT_MAX_BODY = 1024 * 1024;

  /**
   * Command-line overrides; null fields keep the file's or the environment's value.
   */
  public record Overrides(String node, Integer httpPort, List<String> roles, Boolean cluster) {
    public static Overrides none() {
      return new Overrides(null, null, null, null);
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
    setIfPresent(root, env, "AGENTHUB_HTTP_HOST", List.of("node", "http", "host"), false);
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
      "budgets", "clients", "ledger", "audit", "batch", "telemetry"));
    root.rejectUnknown();
    HubConfig.Node node = node(root.section("node", Set.of("name", "roles", "http")));
    HubConfig.Cluster cluster = cluster(root.section("cluster",
      Set.of("enabled", "name", "host", "port", "members", "kubernetes", "tls")));
    Fields mem = root.section("memory", Set.of("dir", "fsync", "max-entry", "max-file", "transcript-max", "writer",
      "sensitive-readable"));
    mem.rejectUnknown();
    long maxEntry = mem.sizeBytes("max-entry", 64 * 1024);
    long maxFile = mem.sizeBytes("max-file", 8L * 1024 * 1024);
    long transcriptMax = mem.sizeBytes("transcript-max", 256 * 1024);
    if (maxEntry < 256 || maxEntry > 16L * 1024 * 1024) {
      throw new ConfigException(mem.field("max-entry"), "must be between 256B and 16MiB");
    }
    // a whole file is one journal record when it is replaced: it must fit the journal's record
    if (maxFile < maxEntry || maxFile > MarkdownStore.MAX_FILE_BYTES) {
      throw new ConfigException(mem.field("max-file"), "must be at least max-entry and at most 63MiB (the journal's "
        + "record)");
    }
    if (transcriptMax != 0 && (transcriptMax < 4 * maxEntry || transcriptMax > maxFile)) {
      throw new ConfigException(mem.field("transcript-max"), "must be 0 (off) or between 4 x max-entry and max-file");
    }
    HubConfig.Memory memory = new HubConfig.Memory(mem.string("dir", "data/memory"), mem.bool("fsync", true),
      (int) maxEntry, maxFile, transcriptMax, mem.bool("writer", true));
    if (!root.has("providers")) {
      throw new ConfigException("providers", "is required");
    }
    Map<String, HubConfig.Provider> providers = providers(root.section("providers", null));
    if (!root.has("models")) {
      throw new ConfigException("models", "is required");
    }
    Map<String, HubConfig.Model> models = models(root.section("models", null), providers);
    if (!root.has("agents")) {
      throw new ConfigException("agents", "is required");
    }
    List<AgentSpec> agents = agents(root, models);
    checkTrust(agents, models, providers, mem.strings("sensitive-readable", List.of()));
    HubConfig.Budgets budgets = budgets(root.section("budgets", Set.of("monthly-usd", "daily-usd", "alerts", "on-exceed", "webhook", "time-zone")));
    List<HubConfig.Client> clients = clients(root, agents);
    if (node.http().clientRps() < 0) {
      // by default only a hub with API clients (one open beyond loopback) bounds each client's rate
      HubConfig.Http h = node.http();
      node = new HubConfig.Node(node.name(), node.roles(), new HubConfig.Http(h.host(), h.port(), h.maxBodyBytes(),
        h.requestTimeoutMs(), clients.isEmpty() ? 0 : 100));
    }
    Fields ledger = root.section("ledger", Set.of("dir", "retention-months"));
    ledger.rejectUnknown();
    Fields audit = root.section("audit", Set.of("dir", "retention-months"));
    audit.rejectUnknown();
    Fields telemetry = root.section("telemetry", Set.of("otlp-endpoint", "tracing", "sample-ratio", "log-format"));
    telemetry.rejectUnknown();
    String logFormat = telemetry.string("log-format", "auto");
    if (!Set.of("auto", "text", "json").contains(logFormat)) {
      throw new ConfigException(telemetry.field("log-format"), "must be auto, text or json, got '" + logFormat + "'");
    }
    String otlp = telemetry.string("otlp-endpoint", "");
    if (!otlp.isBlank() && !otlp.startsWith("http://") && !otlp.startsWith("https://")) {
      throw new ConfigException(telemetry.field("otlp-endpoint"), "must be an http:// or https:// URL (OTLP over "
        + "HTTP, such as http://127.0.0.1:4318), got '" + otlp + "'");
    }
    double sampleRatio = telemetry.number("sample-ratio", 0.1, 0);
    if (sampleRatio < 0 || sampleRatio > 1) {
      throw new ConfigException(telemetry.field("sample-ratio"), "is the share of new traces recorded, from 0 to 1, got "
        + sampleRatio);
    }
    HubConfig.Operations operations = new HubConfig.Operations(otlp, telemetry.bool("tracing", false), sampleRatio,
      logFormat,
      ledger.integer("retention-months", 13, 0, 1200), audit.integer("retention-months", 13, 0, 1200));
    Fields batch = root.section("batch", Set.of("callback-hosts"));
    batch.rejectUnknown();
    List<String> callbackHosts = batch.strings("callback-hosts", List.of());
    for (String host : callbackHosts) {
      if (!HOST.matcher(host).matches()) {
        throw new ConfigException(batch.field("callback-hosts"), "'" + host + "' is not a host name (exact names "
          + "only: no scheme, port, path or wildcard)");
      }
    }
    return new HubConfig(node, cluster, memory, providers, models, agents, budgets, clients,
      ledger.string("dir", "data/ledger"), audit.string("dir", "data/audit"), source,
      new HubConfig.Batch(callbackHosts.stream().map(h -> h.toLowerCase(Locale.ROOT)).toList()), operations);
  }

  private static HubConfig.Node node(Fields f) {
    f.rejectUnknown();
    String name = f.string("name", "n1");
    if (!NAME.matcher(name).matches()) {
      throw new ConfigException(f.field("name"), "must be 1-64 of A-Z a-z 0-9 _ . -, got '" + name + "'");
    }
    List<String> roles = f.strings("roles", List.of("general"));
    if (roles.isEmpty()) {
      throw new ConfigException(f.field("roles"), "must name at least one role");
    }
    for (String role : roles) {
      if (!NAME.matcher(role).matches()) {
        throw new ConfigException(f.field("roles"), "'" + role + "' is not a valid role name");
      }
    }
    Fields http = f.section("http", Set.of("host", "port", "max-body", "request-timeout", "client-rps"));
    http.rejectUnknown();
    long maxBody = http.sizeBytes("max-body", DEFAULT_MAX_BODY);
    if (maxBody < 1024 || maxBody > 64L * 1024 * 1024) {
      throw new ConfigException(http.field("max-body"), "must be between 1KiB and 64MiB");
    }
    long timeout = http.durationMs("request-timeout", 60_000);
    if (timeout < 100) {
      throw new ConfigException(http.field("request-timeout"), "must be at least 100ms");
    }
    return new HubConfig.Node(name, roles,
      new HubConfig.Http(http.string("host", "127.0.0.1"), http.integer("port", 8080, 0, 65535), maxBody, timeout,
        http.integer("client-rps", -1, -1, 1_000_000)));
  }

  private static HubConfig.Cluster cluster(Fields f) {
    f.rejectUnknown();
    String host = f.string("host", "127.0.0.1");
    if (host.isBlank() || host.contains(" ") || host.equals("0.0.0.0")) {
      throw new ConfigException(f.field("host"), "must be the one address to bind and announce, got '" + host + "'");
    }
    int port = f.integer("port", 5701, 1, 65535);
    List<String> members = new ArrayList<>();
    for (String m : f.strings("members", List.of(host + ":" + port + "-" + (port + 2)))) {
      members.addAll(expandMember(f.field("members"), m));
    }
    Fields k8s = f.section("kubernetes", Set.of("enabled", "service-dns"));
    k8s.rejectUnknown();
    String name = f.string("name", "agenthub");
    if (!NAME.matcher(name).matches()) {
      throw new ConfigException(f.field("name"), "must be 1-64 of A-Z a-z 0-9 _ . -, got '" + name + "'");
    }
    HubConfig.Tls tls = null;
    if (f.has("tls")) {
      Fields t = f.section("tls", Set.of("cert", "key", "ca"));
      t.rejectUnknown();
      tls = new HubConfig.Tls(t.requiredString("cert"), t.requiredString("key"), t.requiredString("ca"));
      for (String file : List.of(tls.cert(), tls.key(), tls.ca())) {
        if (!Files.isReadable(Path.of(file))) {
          throw new ConfigException(t.path(), "cannot read " + file);
        }
      }
    }
    return new HubConfig.Cluster(f.bool("enabled", false), name, host, port, members,
      k8s.bool("enabled", false), k8s.string("service-dns", ""), tls);
  }

  /** A duration as the config writes it ({@code 500ms}, {@code 30m}, {@code 1h}, {@code 0} = off), in ms. */
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

  private static Map<String, HubConfig.Provider> providers(Fields f) {
    Map<String, HubConfig.Provider> out = new LinkedHashMap<>();
    for (Object key : rawKeys(f)) {
      String id = String.valueOf(key);
      Fields p = f.section(id, Set.of("type", "base-url", "local", "latency-ms", "keys", "timeout", "max-retries",
        "max-connections", "max-waiting", "http2", "circuit", "ca-file"));
      p.rejectUnknown();
      String type = p.requiredString("type");
      if (!Set.of("sim", "openai", "anthropic").contains(type)) {
        throw new ConfigException(p.field("type"), "must be sim, openai or anthropic, got '" + type + "'");
      }
      HubConfig.ProviderType providerType = HubConfig.ProviderType.valueOf(type.toUpperCase(Locale.ROOT));
      List<HubConfig.Key> keys = new ArrayList<>();
      List<Object> rawKeys = p.list("keys");
      Set<String> keyIds = new HashSet<>();
      for (int i = 0; i < rawKeys.size(); i++) {
        Fields k = new Fields(p.field("keys") + "[" + i + "]", rawKeys.get(i),
          Set.of("id", "secret-env", "secret-file", "rpm", "tpm"));
        k.rejectUnknown();
        String keyId = k.requiredString("id");
        if (!keyIds.add(keyId)) {
          throw new ConfigException(k.field("id"), "duplicate key id '" + keyId + "'");
        }
        String env = k.string("secret-env", null);
        String file = k.string("secret-file", null);
        if (env == null && file == null) {
          throw new ConfigException(k.path(), "needs secret-env or secret-file (API keys never go in the YAML)");
        }
        keys.add(new HubConfig.Key(keyId, env, file, k.integer("rpm", 60, 1, 10_000_000),
          k.integer("tpm", 100_000, 1, Integer.MAX_VALUE)));
      }
      String baseUrl = p.string("base-url", null);
      if (!type.equals("sim")) {
        if (baseUrl == null || !(baseUrl.startsWith("http://") || baseUrl.startsWith("https://"))) {
          throw new ConfigException(p.field("base-url"), "must be an http:// or https:// URL for a " + type + " provider");
        }
      }
      if (!type.equals("sim") && keys.isEmpty()) {
        throw new ConfigException(p.field("keys"), "a " + type + " provider needs at least one key");
      }
      // YAML 1.1 reads a bare on/off as true/false: take them as written
      String http2 = p.raw("http2") instanceof Boolean b ? (b ? "on" : "off") : p.string("http2", "auto");
      if (!Set.of("auto", "on", "off").contains(http2)) {
        throw new ConfigException(p.field("http2"), "must be auto, on or off, got '" + http2 + "'");
      }
      HubConfig.Circuit circuit = HubConfig.Circuit.DEFAULT;
      if (p.has("circuit")) {
        Fields c = p.section("circuit", Set.of("failures", "open"));
        c.rejectUnknown();
        circuit = new HubConfig.Circuit(c.integer("failures", 5, 0, 1_000_000), c.durationMs("open", 30_000));
        if (circuit.failures() > 0 && circuit.openMs() < 100) {
          throw new ConfigException(c.field("open"), "must be at least 100ms");
        }
      }
      String ca = p.string("ca-file", null);
      if (ca != null && !Files.isReadable(Path.of(ca))) {
        throw new ConfigException(p.field("ca-file"), "cannot read " + ca);
      }
      out.put(id, new HubConfig.Provider(id, providerType, baseUrl, p.bool("local", type.equals("sim")),
        p.integer("latency-ms", 40, 0, 600_000), keys, p.durationMs("timeout", 60_000),
        p.integer("max-retries", 4, 0, 20), p.integer("max-connections", 1000, 1, 100_000),
        p.integer("max-waiting", 10_000, 0, 1_000_000), HubConfig.Http2.valueOf(http2.toUpperCase(Locale.ROOT)),
        circuit, ca));
    }
    if (out.isEmpty()) {
      throw new ConfigException("providers", "must define at least one provider");
    }
    return out;
  }

  private static Map<String, HubConfig.Model> models(Fields f, Map<String, HubConfig.Provider> providers) {
    Map<String, HubConfig.Model> out = new LinkedHashMap<>();
    for (Object key : rawKeys(f)) {
      String id = String.valueOf(key);
      Fields m = f.section(id, Set.of("provider", "input", "output", "fallbacks", "name", "cached-input",
        "cache-write", "token-param"));
      m.rejectUnknown();
      String provider = m.requiredString("provider");
      if (!providers.containsKey(provider)) {
        throw new ConfigException(m.field("provider"), "unknown provider '" + provider + "' (defined: "
          + String.join(", ", providers.keySet()) + ")");
      }
      String tokenParam = m.string("token-param", "max_completion_tokens");
      if (!Set.of("max_completion_tokens", "max_tokens").contains(tokenParam)) {
        throw new ConfigException(m.field("token-param"), "must be max_completion_tokens or max_tokens, got '"
          + tokenParam + "'");
      }
      double input = m.number("input", 0, 0);
      out.put(id, new HubConfig.Model(id, provider, m.string("name", id), input, m.number("output", 0, 0),
        m.number("cached-input", input, 0), m.number("cache-write", input, 0), tokenParam,
        m.strings("fallbacks", List.of())));
    }
    if (out.isEmpty()) {
      throw new ConfigException("models", "must define at least one model");
    }
    for (HubConfig.Model model : out.values()) {
      for (String fb : model.fallbacks()) {
        if (!out.containsKey(fb) || fb.equals(model.id())) {
          throw new ConfigException("models." + model.id() + ".fallbacks", "unknown model '" + fb + "'");
        }
      }
    }
    return out;
  }

  private static List<AgentSpec> agents(Fields root, Map<String, HubConfig.Model> models) {
    List<Object> raw = root.list("agents");
    if (raw.isEmpty()) {
      throw new ConfigException("agents", "must define at least one agent");
    }
    List<AgentSpec> out = new ArrayList<>();
    Set<String> ids = new HashSet<>();
    for (int i = 0; i < raw.size(); i++) {
      Fields a = new Fields("agents[" + i + "]", raw.get(i), Set.of("id", "trust", "instances", "roles", "models",
        "skills", "memory", "heartbeat", "limits", "budget-usd", "daily-usd", "persona", "http-hosts", "cache", "weight"));
      a.rejectUnknown();
      String id = a.requiredString("id");
      if (!AGENT_ID.matcher(id).matches()) {
        throw new ConfigException(a.field("id"), "must be 1-64 of a-z 0-9 _ - starting with a letter or digit, got '" + id + "'");
      }
      if (!ids.add(id)) {
        throw new ConfigException(a.field("id"), "duplicate agent id '" + id + "'");
      }
      String trust = a.string("trust", "standard");
      if (!trust.equals("standard") && !trust.equals("sensitive")) {
        throw new ConfigException(a.field("trust"), "must be standard or sensitive, got '" + trust + "'");
      }
      if (!a.has("models")) {
        throw new ConfigException(a.field("models"), "is required");
      }
      Fields m = a.section("models", Set.of("routine", "complex"));
      m.rejectUnknown();
      String routine = m.requiredString("routine");
      String complex = m.string("complex", routine);
      for (String model : List.of(routine, complex)) {
        if (!models.containsKey(model)) {
          throw new ConfigException(m.field(model.equals(routine) ? "routine" : "complex"),
            "unknown model '" + model + "' (defined: " + String.join(", ", models.keySet()) + ")");
        }
      }
      List<String> skills = a.strings("skills", List.of(Skill.MEMORY_READ.id(), Skill.MEMORY_APPEND.id(),
        Skill.TIME_NOW.id()));
      for (String skill : skills) {
        if (!SKILLS.contains(skill)) {
          throw new ConfigException(a.field("skills"), "unknown skill '" + skill + "' (built in: "
            + String.join(", ", SKILLS.stream().sorted().toList()) + ")");
        }
      }
      Fields mem = a.section("memory", Set.of("read", "write"));
      mem.rejectUnknown();
      Fields hb = a.section("heartbeat", Set.of("every", "batch"));
      hb.rejectUnknown();
      Fields lim = a.section("limits", Set.of("max-concurrent", "max-queue", "context-tokens", "output-tokens",
        "tool-steps", "turn-timeout"));
      lim.rejectUnknown();
      AgentSpec.Limits d = AgentSpec.Limits.defaults();
      AgentSpec.Limits limits = new AgentSpec.Limits(
        lim.integer("max-concurrent", d.maxConcurrent(), 1, 100_000),
        lim.integer("max-queue", d.maxQueue(), 1, 10_000_000),
        lim.integer("context-tokens", d.contextTokens(), 256, 2_000_000),
        lim.integer("output-tokens", d.outputTokens(), 1, 1_000_000),
        lim.integer("tool-steps", d.toolSteps(), 0, 50),
        lim.durationMs("turn-timeout", d.turnTimeoutMs()));
      if (limits.turnTimeoutMs() < 100) {
        throw new ConfigException(lim.field("turn-timeout"), "must be at least 100ms");
      }
      List<String> httpHosts = a.strings("http-hosts", List.of());
      if (skills.contains("http.fetch") && httpHosts.isEmpty()) {
        throw new ConfigException(a.field("http-hosts"), "http.fetch needs the hosts it may reach (none listed)");
      }
      String persona = a.string("persona", "You are the " + id + " agent of agenthub. Answer briefly and helpfully.");
      out.add(new AgentSpec(id, trust, a.integer("instances", 1, 1, 1000), a.strings("roles", List.of("general")),
        routine, complex, skills, limits, persona, mem.strings("read", List.of()), mem.strings("write", List.of()),
        hb.durationMs("every", 0), a.optionalNumber("budget-usd", 0), a.optionalNumber("daily-usd", 0), httpHosts, a.bool("cache", true),
        a.integer("weight", 1, 1, 100), hb.bool("batch", false)));
    }
    return out;
  }
  /** Skills a sensitive agent may have: nothing that reaches outside the hub. */
  public static final Set<String> SENSITIVE_SKILLS = Skill.sensitiveSafeIds();

  /**
   * A sensitive agent uses local providers only (its fallbacks too), only the safe skills, and only
   * the shared namespaces {@code memory.sensitive-readable} lists besides its own folder.
   */
  private static void checkTrust(List<AgentSpec> agents, Map<String, HubConfig.Model> models,
                                 Map<String, HubConfig.Provider> providers, List<String> sensitiveReadable) {
    for (int i = 0; i < agents.size(); i++) {
      AgentSpec a = agents.get(i);
      if (!a.sensitive()) {
        continue;
      }
      String field = "agents[" + i + "]";
      List<String> chain = new ArrayList<>(List.of(a.routineModel(), a.complexModel()));
      for (int j = 0; j < chain.size(); j++) {
        HubConfig.Model m = models.get(chain.get(j));
        HubConfig.Provider p = providers.get(m.provider());
        if (!p.local()) {
          throw new ConfigException(field + ".models", "sensitive agent '" + a.id() + "' may use local providers only; "
            + "model '" + m.id() + "' runs on '" + p.id() + "' (local: false)");
        }
        m.fallbacks().stream().filter(fb -> !chain.contains(fb)).forEach(chain::add);
      }
      for (String skill : a.skills()) {
        if (!SENSITIVE_SKILLS.contains(skill)) {
          throw new ConfigException(field + ".skills", "sensitive agent '" + a.id() + "' may not have '" + skill
            + "' (allowed: " + String.join(", ", SENSITIVE_SKILLS.stream().sorted().toList()) + ")");
        }
      }
      for (String ns : concat(a.memoryRead(), a.memoryWrite())) {
        if (sensitiveReadable.stream().noneMatch(ok -> ns.equals(ok) || ns.startsWith(ok + "/"))) {
          throw new ConfigException(field + ".memory", "sensitive agent '" + a.id() + "' may reach '" + ns
            + "' only if memory.sensitive-readable lists it");
        }
      }
    }
  }

  private static List<String> concat(List<String> a, List<String> b) {
    List<String> out = new ArrayList<>(a);
    out.addAll(b);
    return out;
  }

  private static HubConfig.Budgets budgets(Fields f) {
    f.rejectUnknown();
    List<Double> alerts = new ArrayList<>();
    List<Object> raw = f.has("alerts") ? f.list("alerts") : List.of(0.5, 0.8, 1.0);
    for (Object a : raw) {
      if (!(a instanceof Number n) || n.doubleValue() <= 0 || n.doubleValue() > 1.0) {
        throw new ConfigException(f.field("alerts"), "each alert is a fraction in (0, 1], got " + Fields.describe(a));
      }
      alerts.add(n.doubleValue());
    }
    String onExceed = f.string("on-exceed", "downgrade");
    if (!onExceed.equals("downgrade") && !onExceed.equals("block")) {
      throw new ConfigException(f.field("on-exceed"), "must be downgrade or block, got '" + onExceed + "'");
    }
    String zone = f.string("time-zone", "UTC");
    ZoneId zoneId;
    try {
      zoneId = ZoneId.of(zone);
    } catch (DateTimeException e) {
      throw new ConfigException(f.field("time-zone"), "is not a time zone (such as UTC or Europe/Berlin): '" + zone + "'");
    }
    return new HubConfig.Budgets(f.optionalNumber("monthly-usd", 0), f.optionalNumber("daily-usd", 0), alerts,
      HubConfig.OnExceed.valueOf(onExceed.toUpperCase(Locale.ROOT)), f.string("webhook", ""), zoneId);
  }

  private static List<HubConfig.Client> clients(Fields root, List<AgentSpec> agents) {
    List<HubConfig.Client> out = new ArrayList<>();
    List<Object> raw = root.list("clients");
    Set<String> agentIds = new HashSet<>();
    agents.forEach(a -> agentIds.add(a.id()));
    for (int i = 0; i < raw.size(); i++) {
      Fields c = new Fields("clients[" + i + "]", raw.get(i), Set.of("id", "token-sha256", "agents", "admin", "metrics", "budget-usd", "tpm"));
      c.rejectUnknown();
      String id = c.requiredString("id");
      // a client's id names the folder of its sessions' transcripts
      if (!CLIENT_ID.matcher(id).matches()) {
        throw new ConfigException(c.field("id"), "must be 1-64 of A-Z a-z 0-9 _ . @ - not starting with '.', got '"
          + id + "'");
      }
      String sha = c.requiredString("token-sha256").toLowerCase();
      if (!SHA256.matcher(sha).matches()) {
        throw new ConfigException(c.field("token-sha256"), "must be 64 hex digits (the SHA-256 of the token, never the token)");
      }
      for (HubConfig.Client earlier : out) {
        if (earlier.tokenSha256().equals(sha)) {
          throw new ConfigException(c.field("token-sha256"), "is the same token as client '" + earlier.id()
            + "': give each client its own token");
        }
        if (earlier.id().equals(id)) {
          throw new ConfigException(c.field("id"), "duplicate client id '" + id + "'");
        }
      }
      boolean all = "*".equals(c.raw("agents"));
      List<String> allowed = all ? List.of() : c.strings("agents", List.of());
      for (String a : allowed) {
        if (!agentIds.contains(a)) {
          throw new ConfigException(c.field("agents"), "unknown agent '" + a + "'");
        }
      }
      out.add(new HubConfig.Client(id, sha, allowed, all, c.bool("admin", false), c.bool("metrics", false),
        c.optionalNumber("budget-usd", 0),
        c.integer("tpm", 0, 0, 1_000_000_000)));
    }
    return out;
  }

  private static List<Object> rawKeys(Fields f) {
    return new ArrayList<>(f.keys());
  }
}
