package dev.agenthub.config;

import dev.agenthub.agents.AgentSpec;
import dev.agenthub.protocol.ModelCall;

import java.time.ZoneId;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The whole validated configuration of a node, parsed once at start by {@link ConfigLoader}.
 * Immutable; see "Contract: configuration" in ARCHITECTURE.md for the YAML it comes from.
 */
public record HubConfig(Node node, Cluster cluster, Memory memory, Map<String, Provider> providers,
                        Map<String, Model> models, List<AgentSpec> agents, Budgets budgets,
                        List<Client> clients, String ledgerDir, String auditDir, String source, Batch batch,
                        Operations operations, Mcp mcp, List<Channel> channels) {

  public HubConfig {
    operations = operations == null ? Operations.DEFAULT : operations;
    mcp = mcp == null ? Mcp.NONE : mcp;
    channels = channels == null ? List.of() : List.copyOf(channels);
    providers = Map.copyOf(providers);
    models = Map.copyOf(models);
    agents = List.copyOf(agents);
    clients = List.copyOf(clients);
    batch = batch == null ? Batch.NONE : batch;
  }

  public HubConfig(Node node, Cluster cluster, Memory memory, Map<String, Provider> providers, Map<String, Model> models,
                   List<AgentSpec> agents, Budgets budgets, List<Client> clients, String ledgerDir, String auditDir,
                   String source) {
    this(node, cluster, memory, providers, models, agents, budgets, clients, ledgerDir, auditDir, source, Batch.NONE,
      Operations.DEFAULT, Mcp.NONE, List.of());
  }

  /** The configuration with these MCP servers (tests that bypass the loader's rules). */
  public HubConfig withMcp(Mcp other) {
    return new HubConfig(node, cluster, memory, providers, models, agents, budgets, clients, ledgerDir, auditDir,
      source, batch, operations, other, channels);
  }

  /** A messaging platform's kind of channel. */
  public enum ChannelType {
    TELEGRAM, SLACK;

    public String id() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** A chat, channel or user whose messages go to another agent than the channel's. */
  public record ChannelRoute(String kind, String id, String agent) {
  }

  /**
   * One channel: a bot on a messaging platform bound to an agent, its messages run as {@code client}.
   *
   * @param mode          Telegram: {@code webhook} or {@code polling}; Slack: {@code events}
   * @param secret        Telegram webhook mode: the {@code secret_token} every update must carry
   * @param signingSecret Slack: the signing secret of the request signatures
   * @param publicUrl     Telegram webhook mode: the hub's public base URL ({@code /channels/<id>} is added)
   * @param apiBase       the platform's API root (a stand-in's in tests)
   * @param allowFrom     the chat, channel or user ids whose messages are answered (empty: all)
   */
  public record Channel(String id, ChannelType type, String agent, String client, Value token, String mode,
                        Value secret, Value signingSecret, String publicUrl, String apiBase, List<String> allowFrom,
                        List<ChannelRoute> routes) {
    public Channel {
      allowFrom = List.copyOf(allowFrom);
      routes = List.copyOf(routes);
    }

    /** Whether a message from this chat, channel or user may be answered. */
    public boolean allows(String... ids) {
      if (allowFrom.isEmpty()) {
        return true;
      }
      for (String id : ids) {
        if (id != null && allowFrom.contains(id)) {
          return true;
        }
      }
      return false;
    }

    /** The agent that answers this chat, channel or user: the first route that matches, else the channel's. */
    public String agentFor(String chat, String user) {
      for (ChannelRoute r : routes) {
        boolean chatKind = r.kind().equals("chat") || r.kind().equals("channel");
        if (chatKind && r.id().equals(chat) || r.kind().equals("user") && r.id().equals(user)) {
          return r.agent();
        }
      }
      return agent;
    }
  }

  /** {@code mcp:}, the MCP servers whose tools agents may list in {@code skills}. */
  public record Mcp(Map<String, McpServer> servers) {
    public static final Mcp NONE = new Mcp(Map.of());

    public Mcp {
      servers = Map.copyOf(servers);
    }
  }

  /**
   * One MCP server: a child process on each node that uses it ({@code command}, {@code env}) or a
   * Streamable HTTP endpoint ({@code url}, {@code headers}).
   *
   * @param local          whether it keeps data on the hub's side (only such servers serve sensitive agents)
   * @param timeoutMs      the longest one call may take
   * @param maxConcurrent  calls in flight to it from one node; more wait for a free place within their timeout
   * @param maxResultChars the longest result the model reads (the rest is cut with a note)
   * @param approve        tool names that wait for a person's approval; {@code approveAll}: every tool
   */
  public record McpServer(String name, List<String> command, Map<String, Value> env, String url,
                          Map<String, Value> headers, boolean local, long timeoutMs, int maxConcurrent,
                          int maxResultChars, List<String> approve, boolean approveAll, long approvalTimeoutMs) {
    public McpServer {
      command = command == null ? List.of() : List.copyOf(command);
      env = env == null ? Map.of() : Map.copyOf(env);
      headers = headers == null ? Map.of() : Map.copyOf(headers);
      approve = approve == null ? List.of() : List.copyOf(approve);
    }

    public boolean stdio() {
      return !command.isEmpty();
    }

    /** Whether a call of {@code tool} (its bare name) waits for approval. */
    public boolean needsApproval(String tool) {
      return approveAll || approve.contains(tool);
    }
  }

  /**
   * A value in the config that is either written there ({@code plain}) or read from an environment
   * variable at start ({@code secretEnv}), so secrets never sit in the file.
   */
  public record Value(String plain, String secretEnv) {
    /** The value; a secret whose variable is unset stops the node naming {@code field}, never the value. */
    public String resolve(String field, Map<String, String> env) {
      if (secretEnv == null) {
        return plain;
      }
      String v = env.get(secretEnv);
      if (v == null || v.isEmpty()) {
        throw new ConfigException(field + ".secret-env", "environment variable " + secretEnv + " is not set");
      }
      return v;
    }

    @Override
    public String toString() {
      return secretEnv == null ? plain : "{secret-env: " + secretEnv + "}";
    }
  }

  /**
   * What operators run the hub with: {@code telemetry:} (OTLP endpoint, tracing on without one, the
   * share of new traces recorded, log format {@code text}, {@code json} or {@code auto}) and how many months of ledger and audit
   * journals are kept ({@code ledger.retention-months}, {@code audit.retention-months}; 0 keeps all).
   */
  public record Operations(String otlpEndpoint, boolean tracing, double sampleRatio, String logFormat,
                           int ledgerRetentionMonths, int auditRetentionMonths) {
    public static final Operations DEFAULT = new Operations("", false, 0.1, "auto", 13, 13);

    /** Traces are made when asked for, or when there is somewhere to send them. */
    public boolean tracingOn() {
      return tracing || !otlpEndpoint.isBlank();
    }
  }

  /**
   * {@code batch:} where batch answers may be POSTed: {@code callback-hosts}, exact host names (no
   * patterns); empty, the default, refuses every {@code callback_url}.
   */
  public record Batch(List<String> callbackHosts) {
    public static final Batch NONE = new Batch(List.of());

    public Batch {
      callbackHosts = List.copyOf(callbackHosts);
    }
  }

  /** {@code node:} this node's name, roles and HTTP settings. */
  public record Node(String name, List<String> roles, Http http, Bridge bridge) {
    public Node {
      roles = List.copyOf(roles);
    }
  }

  /**
   * {@code node.bridge:} the TCP event-bus bridge, the door of users' applications. {@code port} 0
   * is off; {@code tls} null is plain TCP (its {@code ca} null: no client certificates asked).
   */
  public record Bridge(String host, int port, Tls tls) {
    public boolean on() {
      return port > 0;
    }

    /** {@code host:port}, or null when off. */
    public String address() {
      return on() ? host + ":" + port : null;
    }
  }

  /**
   * {@code node.http:}. {@code port} 0 picks a free port; {@code clientRps} bounds each client's
   * requests per second (burst: two seconds' worth), 0 = off. The connection deadlines (0 = off):
   * {@code idleTimeoutMs} without a byte either way, {@code headerTimeoutMs} for a new connection's
   * first request head, {@code bodyTimeoutMs} for a request's body after its head.
   */
  public record Http(String host, int port, long maxBodyBytes, long requestTimeoutMs, int clientRps,
                     long idleTimeoutMs, long headerTimeoutMs, long bodyTimeoutMs) {
  }

  /** {@code cluster:} Hazelcast membership; members are expanded to single {@code host:port} entries. */
  public record Cluster(boolean enabled, String name, String host, int port, List<String> members,
                        boolean kubernetes, String serviceDns, Tls tls, boolean loopbackOnly) {
    public Cluster {
      members = List.copyOf(members);
    }
  }

  /**
   * {@code cluster.tls:} event-bus TLS between nodes, with client certificates: PEM certificate and
   * key of this node, and the CA that signs every node's certificate. Null when off. Under
   * {@code node.bridge:} the same files, {@code ca} optional (given: applications must present a
   * certificate it signed).
   */
  public record Tls(String cert, String key, String ca) {
  }

  /**
   * {@code memory:} where the Markdown memory lives and how big it may grow.
   *
   * @param transcriptMaxBytes a session transcript past this size is compacted (0 = never)
   * @param writer      whether this node may become the memory writer (it needs {@code dir} on the
   *                    shared storage); other nodes use memory through the event bus only
   */
  /**
   * {@code memory:}
   *
   * @param writer   may this node write (or, replicated, keep a replica of) the memory
   * @param replicas 1 = one directory (shared storage when clustered); 2 or more = each memory node
   *                 keeps its own copy, a write acknowledged once enough of them have it on disk
   */
  public record Memory(String dir, boolean fsync, int maxEntryBytes, long maxFileBytes, long transcriptMaxBytes,
                       boolean writer, int replicas) {
  }

  /** One API key of a provider; the secret itself is read from {@code secretEnv} or {@code secretFile}. */
  public record Key(String id, String secretEnv, String secretFile, int rpm, int tpm) {
  }

  /**
   * {@code providers.<id>:}
   *
   * @param timeoutMs      connect-to-answer timeout of one call
   * @param maxRetries     retries of one call on 429/5xx/network errors, each on the next usable key
   * @param maxConnections calls in flight to this provider from one node at most (HTTP/1.1: connections;
   *                       HTTP/2: streams, over as few connections as the provider's stream limit allows)
   * @param maxWaiting     calls waiting for a key or a connection at most; past it a call fails at once
   * @param http2          whether to speak HTTP/2 to the provider
   * @param circuit        when to stop calling a failing provider (or key) for a while
   * @param caFile         PEM file of extra CAs to trust (a private endpoint), or null
   */
  public record Provider(String id, ProviderType type, String baseUrl, boolean local, long latencyMs, List<Key> keys,
                         long timeoutMs, int maxRetries, int maxConnections, int maxWaiting, Http2 http2,
                         Circuit circuit, String caFile) {
    public Provider {
      keys = List.copyOf(keys);
    }

    /** A provider with the defaults of every key added after the first release. */
    public Provider(String id, ProviderType type, String baseUrl, boolean local, long latencyMs, List<Key> keys,
                    long timeoutMs, int maxRetries) {
      this(id, type, baseUrl, local, latencyMs, keys, timeoutMs, maxRetries, 1000, 10_000, Http2.AUTO,
        Circuit.DEFAULT, null);
    }
  }

  /** {@code providers.<id>.type}: the built-in sim, an OpenAI-compatible API, or Anthropic's Messages API. */
  public enum ProviderType {
    SIM, OPENAI, ANTHROPIC;

    /** The name configs use: {@code sim}, {@code openai}, {@code anthropic}. */
    public String id() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** {@code budgets.on-exceed}: what a budget with no room does to a call. */
  public enum OnExceed {
    /** The agent's complex model gives way to its routine one; routine calls go on. */
    DOWNGRADE,
    /** The call is refused (429 {@code budget_exceeded}). */
    BLOCK;

    public String id() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /**
   * {@code providers.<id>.http2}: {@code auto} negotiates HTTP/2 over TLS (ALPN) and speaks HTTP/1.1 in
   * clear text; {@code on} also uses HTTP/2 in clear text (prior knowledge); {@code off} never.
   */
  public enum Http2 {
    AUTO, ON, OFF
  }

  /**
   * {@code providers.<id>.circuit:} after {@code failures} failures in a row (network errors, 5xx,
   * timeouts; not 4xx) the provider, or one key, is left alone for {@code openMs}; then one call probes it.
   */
  public record Circuit(int failures, long openMs) {
    public static final Circuit DEFAULT = new Circuit(5, 30_000);
  }

  /**
   * {@code models.<id>:} prices in USD per million tokens; {@code name} is the provider's name for it.
   *
   * @param cachedInputPerMillion price of prompt tokens read from the provider's prompt cache
   * @param cacheWritePerMillion  price of prompt tokens written to it (Anthropic)
   * @param tokenParam            how the output cap is sent: {@code max_completion_tokens} or {@code max_tokens}
   */
  public record Model(String id, String provider, String name, double inputPerMillion, double outputPerMillion,
                      double cachedInputPerMillion, double cacheWritePerMillion, String tokenParam,
                      List<String> fallbacks) {
    public Model {
      fallbacks = List.copyOf(fallbacks);
    }

    public Model(String id, String provider, String name, double inputPerMillion, double outputPerMillion,
                 List<String> fallbacks) {
      this(id, provider, name, inputPerMillion, outputPerMillion, inputPerMillion, inputPerMillion,
        "max_completion_tokens", fallbacks);
    }

    /** Price of one call in USD, unrounded: a plain call's input and output tokens. */
    public double cost(long inputTokens, long outputTokens) {
      return (inputTokens * inputPerMillion + outputTokens * outputPerMillion) / 1_000_000.0;
    }

    /**
     * Price of one call in USD, unrounded: prompt tokens at the input price but those read from (or
     * written to) the provider's prompt cache at theirs, and output tokens (reasoning included).
     */
    public double cost(ModelCall.Usage usage) {
      long plain = Math.max(0, usage.input() - usage.cachedInput() - usage.cacheWrite());
      return (plain * inputPerMillion + usage.cachedInput() * cachedInputPerMillion
        + usage.cacheWrite() * cacheWritePerMillion + usage.output() * outputPerMillion) / 1_000_000.0;
    }
  }

  /**
   * {@code budgets:} the global monthly and daily limits (null: none), and the time zone whose
   * midnight starts a day and a month for every budget.
   */
  public record Budgets(Double monthlyUsd, Double dailyUsd, List<Double> alerts, OnExceed onExceed, String webhook,
                        ZoneId zone) {
    public Budgets {
      alerts = List.copyOf(alerts);
    }
  }

  /**
   * {@code clients:} an API token (stored as its SHA-256) and what it may reach ({@code metrics}: may
   * scrape {@code /metrics}, which needs no admin rights then); its own monthly
   * budget (null: none) and tokens per minute over every model (0: no limit).
   */
  public record Client(String id, String tokenSha256, List<String> agents, boolean allAgents, boolean admin,
                       boolean metrics, Double budgetUsd, int tpm) {
    public Client {
      agents = List.copyOf(agents);
    }
  }

  public Optional<AgentSpec> agent(String id) {
    return agents.stream().filter(a -> a.id().equals(id)).findFirst();
  }

  /** Agents this node may run: those sharing at least one role with the node. */
  public List<AgentSpec> agentsForRoles(List<String> roles) {
    return agents.stream().filter(a -> a.roles().stream().anyMatch(roles::contains)).toList();
  }
}
