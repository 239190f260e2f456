package dev.agenthub.governor;

import dev.agenthub.testing.Fixtures;

import com.hazelcast.config.Config;
import com.hazelcast.config.JoinConfig;
import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.partition.Partition;
import io.vertx.core.Vertx;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * Real Hazelcast members in this JVM, on 127.0.0.1 only: TCP-IP join over a random port range,
 * multicast and auto-detection off, no wait before joining, and a cluster name of their own so
 * parallel runs never merge.
 */
public final class LoopbackMembers implements AutoCloseable {

  private static final int PORTS = 4;

  private final String cluster = "compact-" + UUID.randomUUID();
  private final int port = Fixtures.randomBasePort();
  private final List<HazelcastInstance> started = new ArrayList<>();
  private final Vertx vertx = Vertx.vertx();

  /** A Vert.x of the test's own, for the contexts the governor's parts complete on (closed with the members). */
  public Vertx vertx() {
    return vertx;
  }

  /** A data member registered as a node's ({@link GovernorSerializers#register}). */
  public HazelcastInstance node() {
    Config hz = config();
    GovernorSerializers.register(hz.getSerializationConfig());
    return start(hz);
  }

  /** A lite member as users' applications join: none of the governor's serializers. */
  public HazelcastInstance liteApp() {
    return start(config().setLiteMember(true));
  }

  /** Waits until {@code count} members see each other and no partition is moving. */
  public void awaitCluster(int count) throws InterruptedException {
    Fixtures.await(count + " members in one cluster", Duration.ofSeconds(90),
      () -> started.stream().allMatch(m -> m.getCluster().getMembers().size() == count
        && m.getPartitionService().isClusterSafe()));
  }

  /** A key starting with {@code prefix} whose partition {@code owner} owns. */
  public static String keyOwnedBy(HazelcastInstance owner, String prefix) {
    for (int i = 0; i < 10_000; i++) {
      String key = prefix + i;
      if (ownedBy(owner, key)) {
        return key;
      }
    }
    throw new AssertionError("no key " + prefix + "* is owned by " + owner.getCluster().getLocalMember());
  }

  /** True when {@code member} owns the partition of {@code key}. */
  public static boolean ownedBy(HazelcastInstance member, String key) {
    Partition partition = member.getPartitionService().getPartition(key);
    return partition.getOwner() != null && partition.getOwner().localMember();
  }

  @Override
  public void close() throws Exception {
    vertx.close().await(1, TimeUnit.MINUTES);
    started.forEach(HazelcastInstance::shutdown);
  }

  private HazelcastInstance start(Config hz) {
    HazelcastInstance member = Hazelcast.newHazelcastInstance(hz);
    started.add(member);
    return member;
  }

  private Config config() {
    Config hz = new Config().setClusterName(cluster);
    hz.setProperty("hazelcast.logging.type", "jdk");
    hz.setProperty("hazelcast.phone.home.enabled", "false");
    hz.setProperty("hazelcast.shutdownhook.enabled", "false");
    hz.setProperty("hazelcast.wait.seconds.before.join", "0");
    hz.setProperty("hazelcast.max.wait.seconds.before.join", "0");
    hz.setProperty("hazelcast.socket.bind.any", "false");
    hz.setProperty("hazelcast.local.localAddress", "127.0.0.1");
    hz.getNetworkConfig().setPort(port).setPortAutoIncrement(true).setPortCount(PORTS);
    hz.getNetworkConfig().getInterfaces().setEnabled(true).addInterface("127.0.0.1");
    JoinConfig join = hz.getNetworkConfig().getJoin();
    join.getMulticastConfig().setEnabled(false);
    join.getAutoDetectionConfig().setEnabled(false);
    for (int i = 0; i < PORTS; i++) {
      join.getTcpIpConfig().setEnabled(true).addMember("127.0.0.1:" + (port + i));
    }
    return hz;
  }
}
