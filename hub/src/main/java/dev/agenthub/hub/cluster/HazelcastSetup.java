package dev.agenthub.hub.cluster;

import dev.agenthub.client.LiteMember;
import dev.agenthub.config.HubConfig;
import dev.agenthub.governor.GovernorSerializers;

import com.hazelcast.config.Config;
import com.hazelcast.config.JoinConfig;
import com.hazelcast.config.NetworkConfig;
import io.vertx.spi.cluster.hazelcast.ConfigUtil;

import java.util.regex.Pattern;

/**
 * Hazelcast settings for a node: the cluster name derived from the secret, Vert.x's required maps, TCP-IP join on the configured members (or
 * Kubernetes DNS discovery), multicast and auto-detection off, bound to {@code cluster.host} only,
 * join and failure detection tuned to seconds, and what the governor keeps in the cluster in
 * Compact, never by Java serialization ({@link GovernorSerializers}).
 */
public final class HazelcastSetup {

  private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");

  private HazelcastSetup() {
  }

  /**
   * @param cluster            the {@code cluster:} configuration
   * @param secret             the cluster secret: the Hazelcast cluster name is derived from it
   * @param failureDetectionSec seconds without heartbeat before a member is declared dead
   */
  public static Config config(HubConfig.Cluster cluster, byte[] secret, int failureDetectionSec) {
    Config hz = ConfigUtil.loadConfig();
    hz.setClusterName(LiteMember.clusterName(cluster.name(), secret));
    hz.setProperty("hazelcast.logging.type", "jdk");
    hz.setProperty("hazelcast.phone.home.enabled", "false");
    hz.setProperty("hazelcast.shutdownhook.enabled", "false");
    hz.setProperty("hazelcast.wait.seconds.before.join", "0");
    hz.setProperty("hazelcast.max.wait.seconds.before.join", "0");
    hz.setProperty("hazelcast.heartbeat.interval.seconds", "1");
    hz.setProperty("hazelcast.max.no.heartbeat.seconds", String.valueOf(failureDetectionSec));
    hz.setProperty("hazelcast.merge.first.run.delay.seconds", "5");
    hz.setProperty("hazelcast.merge.next.run.delay.seconds", "5");
    hz.setProperty("hazelcast.socket.bind.any", "false");
    hz.setProperty("hazelcast.local.localAddress", cluster.host());
    hz.setProperty("hazelcast.graceful.shutdown.max.wait", "10");
    GovernorSerializers.register(hz.getSerializationConfig());

    NetworkConfig network = hz.getNetworkConfig();
    network.setPort(cluster.port()).setPortAutoIncrement(true).setPortCount(100);
    if (IPV4.matcher(cluster.host()).matches()) {
      network.getInterfaces().setEnabled(true).addInterface(cluster.host());
    }
    JoinConfig join = network.getJoin();
    join.getMulticastConfig().setEnabled(false);
    join.getAutoDetectionConfig().setEnabled(false);
    if (cluster.kubernetes()) {
      join.getTcpIpConfig().setEnabled(false);
      join.getKubernetesConfig().setEnabled(true).setProperty("service-dns", cluster.serviceDns());
    } else {
      join.getTcpIpConfig().setEnabled(true).setMembers(cluster.members()).setConnectionTimeoutSeconds(2);
    }
    return hz;
  }
}
