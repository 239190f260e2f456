package dev.agenthub.hub.cluster;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class RendezvousRouterTest {

  private static List<NodeEntry.Placement> instances(String... nodes) {
    List<NodeEntry.Placement> out = new ArrayList<>();
    for (String n : nodes) {
      out.add(new NodeEntry.Placement("support", n, n));
    }
    return out;
  }

  @Test
  void everyGatewayRanksTheSameWayWhateverTheOrder() {
    var a = RendezvousRouter.rank("s1", instances("n1", "n2", "n3"));
    var b = RendezvousRouter.rank("s1", instances("n3", "n1", "n2"));
    assertThat(a).isEqualTo(b);
  }

  @Test
  void sessionsSpreadAndOnlyTheLeavingInstancesSessionsMove() {
    Map<String, String> before = new HashMap<>();
    Map<String, Integer> load = new HashMap<>();
    for (int i = 0; i < 3000; i++) {
      String owner = RendezvousRouter.rank("s" + i, instances("n1", "n2", "n3")).get(0).instance();
      before.put("s" + i, owner);
      load.merge(owner, 1, Integer::sum);
    }
    assertThat(load.values()).allSatisfy(n -> assertThat(n).isBetween(800, 1200));
    for (int i = 0; i < 3000; i++) {
      String after = RendezvousRouter.rank("s" + i, instances("n1", "n3")).get(0).instance();
      if (!before.get("s" + i).equals("n2")) {
        assertThat(after).isEqualTo(before.get("s" + i));
      }
    }
  }
}
