package dev.agenthub.hub.cluster;

import dev.agenthub.agents.AgentSpec;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Where each agent's {@code instances} run: spread over the live nodes whose roles match the agent's,
 * at most {@code ceil(instances / eligible nodes)} per node, each instance on the node that ranks it
 * highest (rendezvous hashing) among those with room. Every node computes the same plan from the
 * same membership, so no coordinator is needed, and when a node joins or leaves only the instances
 * that must move do.
 */
public final class PlacementPlan {

  private PlacementPlan() {
  }

  public static List<NodeEntry.Placement> compute(List<NodeEntry> nodes, List<AgentSpec> agents) {
    List<NodeEntry.Placement> out = new ArrayList<>();
    for (AgentSpec agent : agents) {
      List<NodeEntry> eligible = nodes.stream().filter(n -> n.roles().stream().anyMatch(agent.roles()::contains))
        .sorted(Comparator.comparing(NodeEntry::name)).toList();
      if (eligible.isEmpty()) {
        continue;
      }
      int cap = (agent.instances() + eligible.size() - 1) / eligible.size();
      Map<String, Integer> load = new HashMap<>();
      for (int k = 0; k < agent.instances(); k++) {
        String instance = agent.id() + "-" + k;
        List<NodeEntry> ranked = new ArrayList<>(eligible);
        ranked.sort(Comparator.comparingLong((NodeEntry n) -> RendezvousRouter.hash(instance + "@" + n.name()))
          .reversed().thenComparing(NodeEntry::name));
        for (NodeEntry n : ranked) {
          if (load.getOrDefault(n.name(), 0) < cap) {
            load.merge(n.name(), 1, Integer::sum);
            out.add(new NodeEntry.Placement(agent.id(), instance, n.name()));
            break;
          }
        }
      }
    }
    return out;
  }
}
