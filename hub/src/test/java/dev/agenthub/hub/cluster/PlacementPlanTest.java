package dev.agenthub.hub.cluster;

import dev.agenthub.agents.AgentSpec;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class PlacementPlanTest {

  private static AgentSpec agent(String id, int instances, String... roles) {
    return new AgentSpec(id, AgentSpec.Trust.STANDARD, instances, List.of(roles), "m", "m", List.of(), AgentSpec.Limits.defaults(),
      "p", List.of(), List.of(), 0, null, null, List.of(), true, 1, false);
  }

  private static NodeEntry node(String name, String... roles) {
    return new NodeEntry(name, name, List.of(roles), "http://127.0.0.1", "now");
  }

  @Test
  void instancesSpreadOverMatchingNodesAndOnlyTheMovedOnesMove() {
    List<AgentSpec> agents = List.of(agent("support", 6, "general"), agent("vault", 2, "secure"));
    List<NodeEntry> three = List.of(node("n1", "general"), node("n2", "general"), node("n3", "general", "secure"));
    List<NodeEntry.Placement> plan = PlacementPlan.compute(three, agents);
    Map<String, Integer> perNode = new HashMap<>();
    plan.stream().filter(p -> p.agent().equals("support")).forEach(p -> perNode.merge(p.node(), 1, Integer::sum));
    assertThat(perNode).containsEntry("n1", 2).containsEntry("n2", 2).containsEntry("n3", 2);
    assertThat(plan.stream().filter(p -> p.agent().equals("vault"))).allMatch(p -> p.node().equals("n3")).hasSize(2);
    List<NodeEntry> reversed = new ArrayList<>(three);
    Collections.reverse(reversed);
    assertThat(PlacementPlan.compute(reversed, agents)).containsExactlyInAnyOrderElementsOf(plan);

    // n2 leaves: its instances move; of the others, at most the one or two that rebalancing needs
    List<NodeEntry.Placement> after = PlacementPlan.compute(List.of(three.get(0), three.get(2)), agents);
    long stayed = plan.stream().filter(p -> !p.node().equals("n2")).filter(after::contains).count();
    long before = plan.stream().filter(p -> !p.node().equals("n2")).count();
    assertThat(before - stayed).isLessThanOrEqualTo(2);
    assertThat(after).noneMatch(p -> p.node().equals("n2"));
    assertThat(after.stream().filter(p -> p.agent().equals("support"))).hasSize(6);
    assertThat(PlacementPlan.compute(List.of(node("n9", "other")), agents)).isEmpty();
  }
}
