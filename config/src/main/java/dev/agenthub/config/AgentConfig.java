package dev.agenthub.config;

import dev.agenthub.agents.AgentSpec;
import dev.agenthub.agents.Skill;
import dev.agenthub.protocol.ToolCall;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code agents:} and the trust rules checked across agents, models and providers.
 */
final class AgentConfig {

  private AgentConfig() {
  }

  static List<AgentSpec> agents(Fields root, Map<String, HubConfig.Model> models) {
    List<Object> raw = root.list("agents");
    if (raw.isEmpty()) {
      throw new ConfigException("agents", "must define at least one agent");
    }
    List<AgentSpec> out = new ArrayList<>();
    Set<String> ids = new HashSet<>();
    for (int i = 0; i < raw.size(); i++) {
      Fields a = new Fields("agents[" + i + "]", raw.get(i), Set.of("id", "trust", "instances", "roles", "models",
        "skills", "memory", "heartbeat", "limits", "budget-usd", "daily-usd", "persona", "description", "http-hosts", "cache", "weight"));
      a.rejectUnknown();
      String id = a.requiredString("id");
      if (!ConfigLoader.AGENT_ID.matcher(id).matches()) {
        throw new ConfigException(a.field("id"), "must be 1-64 of a-z 0-9 _ - starting with a letter or digit, got '" + id + "'");
      }
      if (!ids.add(id)) {
        throw new ConfigException(a.field("id"), "duplicate agent id '" + id + "'");
      }
      AgentSpec.Trust trust;
      try {
        trust = AgentSpec.Trust.of(a.string("trust", AgentSpec.Trust.STANDARD.id()));
      } catch (IllegalArgumentException e) {
        throw new ConfigException(a.field("trust"), e.getMessage());
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
        if (!ConfigLoader.SKILLS.contains(skill) && !ToolCall.isMcp(skill)) {
          throw new ConfigException(a.field("skills"), "unknown skill '" + skill + "' (built in: "
            + String.join(", ", ConfigLoader.SKILLS.stream().sorted().toList()) + "; MCP tools: mcp.<server>.<tool> "
            + "or mcp.<server>.*)");
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
      if (skills.contains(Skill.HTTP_FETCH.id()) && httpHosts.isEmpty()) {
        throw new ConfigException(a.field("http-hosts"), "http.fetch needs the hosts it may reach (none listed)");
      }
      String persona = a.string("persona", "You are the " + id + " agent of agenthub. Answer briefly and helpfully.");
      out.add(new AgentSpec(id, trust, a.integer("instances", 1, 1, 1000), a.strings("roles", List.of("general")),
        routine, complex, skills, limits, persona, mem.strings("read", List.of()), mem.strings("write", List.of()),
        hb.durationMs("every", 0), a.optionalNumber("budget-usd", 0), a.optionalNumber("daily-usd", 0), httpHosts, a.bool("cache", true),
        a.integer("weight", 1, 1, 100), hb.bool("batch", false), description(a)));
    }
    return out;
  }
  /** An agent's {@code description}: one line of at most 1,000 characters, or null when not given. */
  private static String description(Fields a) {
    String d = a.string("description", null);
    if (d == null) {
      return null;
    }
    if (d.isBlank() || d.length() > 1000 || d.contains("\n")) {
      throw new ConfigException(a.field("description"), "must be one line of 1-1000 characters");
    }
    return d.strip();
  }

  /** Skills a sensitive agent may have: nothing that reaches outside the hub. */
  public static final Set<String> SENSITIVE_SKILLS = Skill.sensitiveSafeIds();

  /**
   * A sensitive agent uses local providers only (its fallbacks too), only the safe skills, and only
   * the shared namespaces {@code memory.sensitive-readable} lists besides its own folder.
   */
  static void checkTrust(List<AgentSpec> agents, Map<String, HubConfig.Model> models,
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
        // MCP skills are checked against their servers (McpConfig): local ones only
        if (!SENSITIVE_SKILLS.contains(skill) && !ToolCall.isMcp(skill)) {
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

  static List<String> concat(List<String> a, List<String> b) {
    List<String> out = new ArrayList<>(a);
    out.addAll(b);
    return out;
  }
}
