package dev.agenthub.hub.cluster;

import dev.agenthub.client.LiteMember;
import dev.agenthub.hub.HubNode;
import dev.agenthub.hub.TestHub;
import dev.agenthub.testing.Fixtures;
import dev.agenthub.testing.HubYaml;

import com.hazelcast.config.Config;
import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.eventbus.EventBusOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The cluster's door: real Hazelcast members on 127.0.0.1. A process that knows the cluster's name
 * and members but not its secret is never taken in; one that sniffed the derived cluster name is
 * taken in by Hazelcast but named an intruder by the nodes; a node with another secret stays out and
 * says so; a node whose Hazelcast stopped is not ready.
 */
class MembershipTest {

  private static String yaml(String node, String cluster, int port) {
    return HubYaml.yaml(node, 0, HubYaml.clusterYaml(cluster, port) + HubYaml.memoryYaml(Fixtures.freshDir()));
  }

  private static int nodeCount(HubNode node) {
    try {
      return new JsonObject(TestHub.get(node.url() + "/v1/cluster").body()).getJsonArray("nodes").size();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static boolean ready(HubNode node) {
    try {
      return TestHub.get(node.url() + "/health/ready").statusCode() == 200;
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static List<String> intruders(HubNode node) {
    try {
      return new JsonObject(TestHub.get(node.url() + "/v1/cluster").body()).getJsonArray("intruders").stream()
        .map(String::valueOf).toList();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** How many members the node has named intruders since it started ({@code agenthub_intruders_total}). */
  private static double intrudersNamed(HubNode node) throws Exception {
    Matcher m = Pattern.compile("(?m)^agenthub_intruders_total(\\{[^}]*})? (\\S+)$")
      .matcher(TestHub.get(node.url() + "/metrics").body());
    return m.find() ? Double.parseDouble(m.group(2)) : 0;
  }

  private static String address(HazelcastInstance hz) {
    return hz.getCluster().getLocalMember().getAddress().getHost() + ":"
      + hz.getCluster().getLocalMember().getAddress().getPort();
  }

  /** The Hazelcast settings of someone who read the derived cluster name off the wire, without the secret. */
  private static Config sniffer(String cluster, int port, byte[] guessedSecret) {
    Config hz = LiteMember.config(cluster, guessedSecret, "127.0.0.1", members(port));
    hz.setClusterName(LiteMember.clusterName(cluster, TestHub.SECRET.getBytes(StandardCharsets.UTF_8)));
    hz.getNetworkConfig().setPort(port + 30).setPortAutoIncrement(true);
    hz.setProperty("hazelcast.wait.seconds.before.join", "0");
    return hz;
  }

  private static List<String> members(int port) {
    return List.of("127.0.0.1:" + port, "127.0.0.1:" + (port + 1), "127.0.0.1:" + (port + 2));
  }

  @Test
  void aProcessWithoutTheSecretIsNeverTakenIn() throws Exception {
    String cluster = "door-" + UUID.randomUUID();
    int port = Fixtures.randomBasePort();
    HubNode node = TestHub.start(yaml("d1", cluster, port));
    List<HazelcastInstance> strangers = new ArrayList<>();
    try {
      // the attacker knows the name and the members: as the event-bus example used to join
      for (String name : List.of(cluster, LiteMember.clusterName(cluster, "a-guessed-secret-value".getBytes(
        StandardCharsets.UTF_8)))) {
        Config hz = LiteMember.config(cluster, "x".repeat(16).getBytes(StandardCharsets.UTF_8), "127.0.0.1",
          members(port));
        hz.setClusterName(name);
        hz.getNetworkConfig().setPort(port + 30).setPortAutoIncrement(true);
        hz.setProperty("hazelcast.wait.seconds.before.join", "0");
        strangers.add(Hazelcast.newHazelcastInstance(hz));
      }
      for (HazelcastInstance stranger : strangers) {
        assertThat(stranger.getCluster().getMembers()).as("the stranger is alone in a cluster of its own").hasSize(1);
      }
      assertThat(nodeCount(node)).isEqualTo(1);
      assertThat(node.membership().state()).isEqualTo(MembershipWatch.State.IN);

      // with the secret, an application is a member (trusted like a node)
      Vertx trusted = TestHub.liteMember(cluster, port);
      try {
        assertThat(((HazelcastClusterManager) TestHub.clusterManager(trusted)).getHazelcastInstance().getCluster()
          .getMembers()).hasSize(2);
      } finally {
        trusted.close().await(1, TimeUnit.MINUTES);
      }
    } finally {
      strangers.forEach(HazelcastInstance::shutdown);
      node.close().await(1, TimeUnit.MINUTES);
    }
  }

  @Test
  void aMemberWithoutTheSecretIsNamedAnIntruderAndMembersWithItNeverAre() throws Exception {
    String cluster = "proof-" + UUID.randomUUID();
    int port = Fixtures.randomBasePort();
    HubNode a = TestHub.start(yaml("p1", cluster, port));
    HubNode b = null;
    Vertx trusted = null;
    HazelcastInstance silent = null;
    Vertx liar = null;
    try {
      b = TestHub.start(yaml("p2", cluster, port));
      List<HubNode> nodes = List.of(a, b);
      Fixtures.await("two nodes with the secret form one cluster, both ready", Duration.ofSeconds(90),
        () -> nodes.stream().allMatch(n -> nodeCount(n) == 2 && ready(n)));
      // the control: an application with the secret (it answers the challenges, as TestHub's does)
      trusted = TestHub.liteMember(cluster, port);

      byte[] guessed = "a-guessed-secret-value".getBytes(StandardCharsets.UTF_8);
      // a sniffer with plain Hazelcast, as a data member: no event bus, so it answers nothing
      silent = Hazelcast.newHazelcastInstance(sniffer(cluster, port, guessed).setLiteMember(false));
      // and one on the event bus that answers every challenge, under the secret it guessed
      HazelcastClusterManager liarManager = new HazelcastClusterManager(sniffer(cluster, port, guessed));
      liar = Vertx.builder().with(new VertxOptions().setEventBusOptions(new EventBusOptions().setHost("127.0.0.1")))
        .withClusterManager(liarManager).buildClustered().await(2, TimeUnit.MINUTES);
      LiteMember.answerChallenges(liar, liarManager, guessed).await(1, TimeUnit.MINUTES);
      assertThat(silent.getCluster().getMembers()).as("Hazelcast takes in whoever has the name").hasSizeGreaterThan(1);
      String silentAt = address(silent);
      String liarAt = address(liarManager.getHazelcastInstance());

      for (HubNode n : nodes) {
        Fixtures.await("both strangers named intruders", Duration.ofSeconds(120),
          () -> intruders(n).containsAll(List.of(silentAt, liarAt)));
        HttpResponse<String> readiness = TestHub.get(n.url() + "/health/ready");
        assertThat(readiness.statusCode()).isEqualTo(503);
        JsonObject body = new JsonObject(readiness.body());
        assertThat(body.getJsonObject("checks").getString("cluster")).isEqualTo("DOWN");
        assertThat(body.getJsonObject("reasons").getString("cluster")).contains(silentAt, liarAt,
          "did not prove it holds the cluster secret");
      }

      silent.shutdown();
      silent = null;
      liar.close().await(1, TimeUnit.MINUTES);
      liar = null;
      for (HubNode n : nodes) {
        Fixtures.await("ready again once the intruders left", Duration.ofSeconds(120),
          () -> ready(n) && intruders(n).isEmpty());
        // the control: the other node and the application with the secret were never named
        assertThat(intrudersNamed(n)).as("named: the two strangers only").isEqualTo(2.0);
      }
      assertThat(nodeCount(a)).isEqualTo(2);
    } finally {
      if (silent != null) {
        silent.shutdown();
      }
      for (Vertx v : new Vertx[] {liar, trusted}) {
        if (v != null) {
          v.close().await(1, TimeUnit.MINUTES);
        }
      }
      for (HubNode n : new HubNode[] {b, a}) {
        if (n != null) {
          n.close().await(1, TimeUnit.MINUTES);
        }
      }
    }
  }

  @Test
  void aNodeWithAnotherSecretStaysOutAndIsNotReady() throws Exception {
    String cluster = "door-" + UUID.randomUUID();
    int port = Fixtures.randomBasePort();
    HubNode a = TestHub.start(yaml("s1", cluster, port));
    HubNode b = null;
    HubNode wrong = null;
    try {
      b = TestHub.start(yaml("s2", cluster, port));
      HubNode second = b;
      Fixtures.await("two nodes with the secret form one cluster", Duration.ofSeconds(60),
        () -> nodeCount(a) == 2 && nodeCount(second) == 2);
      wrong = TestHub.start(yaml("s3", cluster, port), "another-secret-of-enough-length");
      HubNode w = wrong;
      Fixtures.await("the node with another secret counts itself out", Duration.ofSeconds(90),
        () -> w.membership().state() == MembershipWatch.State.OUT);
      assertThat(wrong.membership().foreign()).startsWith("127.0.0.1:");
      HttpResponse<String> readiness = TestHub.get(wrong.url() + "/health/ready");
      assertThat(readiness.statusCode()).isEqualTo(503);
      assertThat(readiness.body()).contains("cluster");
      assertThat(nodeCount(wrong)).isEqualTo(1);
      // the two nodes with the secret never saw it, and stay ready
      assertThat(nodeCount(a)).isEqualTo(2);
      assertThat(ready(a)).isTrue();
      assertThat(a.membership().state()).isEqualTo(MembershipWatch.State.IN);
    } finally {
      for (HubNode n : new HubNode[] {wrong, b, a}) {
        if (n != null) {
          n.close().await(1, TimeUnit.MINUTES);
        }
      }
    }
  }

  @Test
  void aLoneNodeNeverTakesItsOwnAnswerForAStrangers() throws Exception {
    String cluster = "door-" + UUID.randomUUID();
    int port = Fixtures.randomBasePort();
    // the members by host name, as compose and Kubernetes spell them: the node's own among them
    HubNode node = TestHub.start(HubYaml.yaml("self1", 0, """
      cluster: { enabled: true, name: %s, host: 127.0.0.1, port: %d, members: ["localhost:%d-%d"] }
      """.formatted(cluster, port, port, port + 2) + HubYaml.memoryYaml(Fixtures.freshDir())));
    try {
      assertThat(node.membership().check(0)).isEqualTo(MembershipWatch.State.IN);
      assertThat(node.membership().check(MembershipWatch.OUT_AFTER_MS + 1)).isEqualTo(MembershipWatch.State.IN);
      Fixtures.await("the lone node is ready", Duration.ofSeconds(60), () -> ready(node));
    } finally {
      node.close().await(1, TimeUnit.MINUTES);
    }
  }

  @Test
  void aNodeWhoseHazelcastStoppedIsNotReady() throws Exception {
    String cluster = "door-" + UUID.randomUUID();
    int port = Fixtures.randomBasePort();
    HubNode node = TestHub.start(yaml("h1", cluster, port));
    try {
      Fixtures.await("ready", Duration.ofSeconds(60), () -> ready(node));
      // what a member can do to every node: Hazelcast's cluster shutdown
      Vertx member = TestHub.liteMember(cluster, port);
      try {
        HazelcastInstance hz = ((HazelcastClusterManager) TestHub.clusterManager(member)).getHazelcastInstance();
        // refused while partitions still migrate to the new member: again until it is taken
        Fixtures.await("the cluster shutdown is taken", Duration.ofSeconds(60), () -> {
          try {
            hz.getCluster().shutdown();
            return true;
          } catch (IllegalStateException e) {
            return !hz.getLifecycleService().isRunning();
          }
        });
      } finally {
        member.close();
      }
      Fixtures.await("the node notices its Hazelcast stopped", Duration.ofSeconds(60),
        () -> node.membership().state() == MembershipWatch.State.STOPPED);
      assertThat(TestHub.get(node.url() + "/health/ready").statusCode()).isEqualTo(503);
    } finally {
      node.close().await(1, TimeUnit.MINUTES);
    }
  }
}
