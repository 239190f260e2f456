package dev.agenthub.agents;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * One agent's validated configuration (an entry of {@code agents:} in hub.yaml).
 *
 * @param id        agent id, also part of its event-bus address
 * @param trust     standard, or sensitive (local models, safe skills, private memory)
 * @param instances how many instances the cluster should run
 * @param roles     node roles it may be placed on
 * @param routineModel model key used for routine turns
 * @param complexModel model key used for complex turns
 * @param skills    the skills it may call
 * @param limits    concurrency, queue and token limits
 * @param persona   the system prompt's opening
 * @param memoryRead  shared namespaces it may read (its own {@code agents/<id>} is implicit)
 * @param memoryWrite shared namespaces it may write
 * @param heartbeatMs heartbeat interval in milliseconds, 0 = off
 * @param budgetUsd   monthly budget in USD, or null for none
 * @param dailyUsd    daily budget in USD, or null for none
 * @param httpHosts   hosts {@code http.fetch} may reach (empty: the skill is off)
 * @param cache       whether the governor may answer this agent's routine calls from its cache
 * @param weight      its share of a busy key pool against other agents (calls served in a row)
 * @param heartbeatBatch whether heartbeats go through the provider's batch lane (cheaper, slower)
 * @param description what the agent is for, told to clients that list it (the MCP door's tool
 *                    description), or null for none; unlike the persona, never sent to a model
 */
public record AgentSpec(String id, Trust trust, int instances, List<String> roles,
                        String routineModel, String complexModel, List<String> skills,
                        Limits limits, String persona, List<String> memoryRead, List<String> memoryWrite,
                        long heartbeatMs, Double budgetUsd, Double dailyUsd, List<String> httpHosts, boolean cache, int weight,
                        boolean heartbeatBatch, String description) {

  /** A spec without a description. */
  public AgentSpec(String id, Trust trust, int instances, List<String> roles, String routineModel, String complexModel,
                   List<String> skills, Limits limits, String persona, List<String> memoryRead, List<String> memoryWrite,
                   long heartbeatMs, Double budgetUsd, Double dailyUsd, List<String> httpHosts, boolean cache, int weight,
                   boolean heartbeatBatch) {
    this(id, trust, instances, roles, routineModel, complexModel, skills, limits, persona, memoryRead, memoryWrite,
      heartbeatMs, budgetUsd, dailyUsd, httpHosts, cache, weight, heartbeatBatch, null);
  }

  public AgentSpec {
    roles = List.copyOf(roles);
    skills = List.copyOf(skills);
    memoryRead = List.copyOf(memoryRead);
    memoryWrite = List.copyOf(memoryWrite);
    httpHosts = List.copyOf(httpHosts);
  }

  /** {@code trust:} how far an agent's data may travel. */
  public enum Trust {
    /** Any provider, any skill it is given. */
    STANDARD,
    /** Local providers only, sensitive-safe skills only, memory private to it. */
    SENSITIVE;

    /** The name configs and JSON use: {@code standard}, {@code sensitive}. */
    public String id() {
      return name().toLowerCase(Locale.ROOT);
    }

    /**
     * The trust a config or JSON names by its {@link #id()}.
     *
     * @throws IllegalArgumentException for null or any other name, saying which names there are
     */
    public static Trust of(String id) {
      for (Trust trust : values()) {
        if (trust.id().equals(id)) {
          return trust;
        }
      }
      throw new IllegalArgumentException("must be " + Arrays.stream(values()).map(Trust::id)
        .collect(Collectors.joining(" or ")) + ", got '" + id + "'");
    }
  }

  /** Per-agent limits; see {@code limits:} in the configuration contract. */
  public record Limits(int maxConcurrent, int maxQueue, int contextTokens, int outputTokens, int toolSteps,
                       long turnTimeoutMs) {
    public static Limits defaults() {
      return new Limits(64, 1000, 8000, 1024, 4, 60_000);
    }

    public JsonObject toJson() {
      return new JsonObject().put("max-concurrent", maxConcurrent).put("max-queue", maxQueue)
        .put("context-tokens", contextTokens).put("output-tokens", outputTokens).put("tool-steps", toolSteps)
        .put("turn-timeout-ms", turnTimeoutMs);
    }

    public static Limits fromJson(JsonObject json) {
      return new Limits(json.getInteger("max-concurrent"), json.getInteger("max-queue"),
        json.getInteger("context-tokens"), json.getInteger("output-tokens"), json.getInteger("tool-steps"),
        json.getLong("turn-timeout-ms"));
    }
  }

  public boolean sensitive() {
    return trust == Trust.SENSITIVE;
  }

  public JsonObject toJson() {
    return new JsonObject()
      .put("id", id)
      .put("trust", trust.id())
      .put("instances", instances)
      .put("roles", new JsonArray(roles))
      .put("models", new JsonObject().put("routine", routineModel).put("complex", complexModel))
      .put("skills", new JsonArray(skills))
      .put("limits", limits.toJson())
      .put("persona", persona)
      .put("memory", new JsonObject().put("read", new JsonArray(memoryRead)).put("write", new JsonArray(memoryWrite)))
      .put("heartbeat_ms", heartbeatMs)
      .put("budget_usd", budgetUsd)
      .put("daily_usd", dailyUsd)
      .put("http_hosts", new JsonArray(httpHosts))
      .put("cache", cache)
      .put("weight", weight)
      .put("heartbeat_batch", heartbeatBatch)
      .put("description", description);
  }

  @SuppressWarnings("unchecked")
  public static AgentSpec fromJson(JsonObject json) {
    JsonObject models = json.getJsonObject("models");
    return new AgentSpec(json.getString("id"), Trust.of(json.getString("trust")), json.getInteger("instances"),
      json.getJsonArray("roles").getList(), models.getString("routine"), models.getString("complex"),
      json.getJsonArray("skills").getList(), Limits.fromJson(json.getJsonObject("limits")),
      json.getString("persona"), json.getJsonObject("memory").getJsonArray("read").getList(),
      json.getJsonObject("memory").getJsonArray("write").getList(), json.getLong("heartbeat_ms", 0L),
      json.getDouble("budget_usd"), json.getDouble("daily_usd"), json.getJsonArray("http_hosts", new JsonArray()).getList(),
      json.getBoolean("cache", true), json.getInteger("weight", 1), json.getBoolean("heartbeat_batch", false),
      json.getString("description"));
  }
}
