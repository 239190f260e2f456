package dev.agenthub.memory;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Who may read and write what: an agent owns {@code agents/<id>/} and reaches the shared namespaces
 * its config lists ({@code memory.read}, {@code memory.write}; write implies read). {@link #ADMIN}
 * (the hub's own admin routes) reaches everything.
 */
public record MemoryPolicy(Map<String, Access> agents) {

  /** The identity of the hub's admin routes; not a valid agent id, so no agent can be it by config. */
  public static final String ADMIN = "@admin";

  /** One agent's shared namespaces. */
  public record Access(List<String> read, List<String> write) {
    public Access {
      read = List.copyOf(read);
      write = List.copyOf(write);
    }
  }

  public MemoryPolicy {
    agents = Map.copyOf(agents);
  }

  public boolean known(String agent) {
    return ADMIN.equals(agent) || agents.containsKey(agent);
  }

  public boolean canRead(String agent, MemoryPath path) {
    return canWrite(agent, path) || allowed(agent, path, false);
  }

  public boolean canWrite(String agent, MemoryPath path) {
    if (ADMIN.equals(agent)) {
      return true;
    }
    if (!agents.containsKey(agent)) {
      return false;
    }
    return path.isUnder(MemoryLayout.agentDir(agent)) || allowed(agent, path, true);
  }

  /** The prefixes {@code agent} may read (for search and list). */
  public List<String> readable(String agent) {
    if (ADMIN.equals(agent)) {
      return List.of("");
    }
    Access access = agents.get(agent);
    if (access == null) {
      return List.of();
    }
    ArrayList<String> out = new ArrayList<>(access.read());
    out.addAll(access.write());
    out.add(MemoryLayout.agentDir(agent));
    return out;
  }

  private boolean allowed(String agent, MemoryPath path, boolean write) {
    Access access = agents.get(agent);
    if (access == null) {
      return false;
    }
    for (String prefix : write ? access.write() : access.read()) {
      if (path.isUnder(prefix)) {
        return true;
      }
    }
    return false;
  }
}
