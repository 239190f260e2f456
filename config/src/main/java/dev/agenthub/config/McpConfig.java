package dev.agenthub.config;

import dev.agenthub.agents.AgentSpec;
import dev.agenthub.protocol.ToolCall;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * {@code mcp:} the MCP servers, and the agents' {@code mcp.<server>.<tool>} skills checked against
 * them: a server must exist, and a sensitive agent may list only servers marked {@code local: true}.
 */
final class McpConfig {

  /** A server's name: it becomes part of tool names on a provider's wire ({@code mcp__<server>__<tool>}). */
  static final Pattern SERVER = Pattern.compile("[a-z0-9][a-z0-9-]{0,31}");
  static final long DEFAULT_TIMEOUT_MS = 30_000;
  static final int DEFAULT_MAX_CONCURRENT = 16;
  static final long DEFAULT_MAX_RESULT = 64 * 1024;
  static final long DEFAULT_APPROVAL_TIMEOUT_MS = 3_600_000;

  private McpConfig() {
  }

  static HubConfig.Mcp mcp(Fields root) {
    Fields mcp = root.section("mcp", Set.of("servers"));
    mcp.rejectUnknown();
    if (!mcp.has("servers")) {
      return HubConfig.Mcp.NONE;
    }
    Fields servers = mcp.section("servers", null);
    Map<String, HubConfig.McpServer> out = new LinkedHashMap<>();
    for (Object key : servers.keys()) {
      String name = String.valueOf(key);
      Fields s = servers.section(name, Set.of("command", "env", "url", "headers", "local", "timeout",
        "max-concurrent", "max-result", "approve", "approval-timeout"));
      s.rejectUnknown();
      if (!SERVER.matcher(name).matches()) {
        throw new ConfigException(s.path(), "a server's name is 1-32 of a-z 0-9 - (it becomes part of tool names), "
          + "got '" + name + "'");
      }
      List<String> command = s.strings("command", List.of());
      String url = s.string("url", null);
      if (command.isEmpty() == (url == null)) {
        throw new ConfigException(s.path(), "needs exactly one of command (a stdio server) or url (Streamable HTTP)");
      }
      if (url != null && !url.startsWith("http://") && !url.startsWith("https://")) {
        throw new ConfigException(s.field("url"), "must be an http:// or https:// URL, got '" + url + "'");
      }
      if (url != null && s.has("env")) {
        throw new ConfigException(s.field("env"), "is for stdio servers (command); an HTTP server takes headers");
      }
      if (!command.isEmpty() && s.has("headers")) {
        throw new ConfigException(s.field("headers"), "is for HTTP servers (url); a stdio server takes env");
      }
      boolean approveAll = false;
      List<String> approve = List.of();
      Object rawApprove = s.raw("approve");
      if (rawApprove instanceof Boolean b) {
        approveAll = b;
      } else if (rawApprove != null) {
        approve = s.strings("approve", List.of());
      }
      long maxResult = s.sizeBytes("max-result", DEFAULT_MAX_RESULT);
      if (maxResult < 256 || maxResult > 16 * 1024 * 1024) {
        throw new ConfigException(s.field("max-result"), "must be from 256 B to 16 MiB");
      }
      long timeout = s.durationMs("timeout", DEFAULT_TIMEOUT_MS);
      if (timeout < 100) {
        throw new ConfigException(s.field("timeout"), "must be at least 100ms");
      }
      out.put(name, new HubConfig.McpServer(name, command, values(s, "env"), url, values(s, "headers"),
        s.bool("local", false), timeout, s.integer("max-concurrent", DEFAULT_MAX_CONCURRENT, 1, 10_000),
        (int) maxResult, approve, approveAll, s.durationMs("approval-timeout", DEFAULT_APPROVAL_TIMEOUT_MS)));
    }
    return new HubConfig.Mcp(out);
  }

  /** {@code env:} or {@code headers:}: each value a string or {@code { secret-env: NAME }}. */
  private static Map<String, HubConfig.Value> values(Fields s, String key) {
    if (!s.has(key)) {
      return Map.of();
    }
    Fields section = s.section(key, null);
    Map<String, HubConfig.Value> out = new LinkedHashMap<>();
    for (Object k : section.keys()) {
      String name = String.valueOf(k);
      HubConfig.Value v = section.value(name);
      out.put(name, v == null ? new HubConfig.Value("", null) : v);
    }
    return out;
  }

  /**
   * Every agent's MCP skills name a configured server, and a sensitive agent's only local ones: it
   * would otherwise hand what it knows to a server outside the hub.
   */
  static void checkSkills(List<AgentSpec> agents, HubConfig.Mcp mcp) {
    for (int i = 0; i < agents.size(); i++) {
      AgentSpec a = agents.get(i);
      String field = "agents[" + i + "].skills";
      for (String skill : a.skills()) {
        if (!ToolCall.isMcp(skill)) {
          continue;
        }
        String rest = skill.substring(ToolCall.PREFIX.length());
        int dot = rest.indexOf('.');
        if (dot <= 0 || dot == rest.length() - 1) {
          throw new ConfigException(field, "'" + skill + "' is not mcp.<server>.<tool> or mcp.<server>.*");
        }
        String server = rest.substring(0, dot);
        HubConfig.McpServer s = mcp.servers().get(server);
        if (s == null) {
          throw new ConfigException(field, "'" + skill + "' names MCP server '" + server + "', which mcp.servers "
            + "does not define" + (mcp.servers().isEmpty() ? "" : " (defined: "
            + String.join(", ", new ArrayList<>(mcp.servers().keySet())) + ")"));
        }
        if (a.sensitive() && !s.local()) {
          throw new ConfigException(field, "sensitive agent '" + a.id() + "' may not use MCP server '" + server
            + "' (local: false): a sensitive agent's tools must keep its data on the hub's side");
        }
      }
    }
  }
}
