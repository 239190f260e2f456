package dev.agenthub.client;

import com.hazelcast.config.Config;
import io.vertx.spi.cluster.hazelcast.ConfigUtil;

import java.util.List;

/**
 * The Hazelcast settings of an application that joins a hub's cluster to use the event-bus API: a
 * lite member (it holds no data and is never taken for a node) bound to one host, joining the
 * hub's members by TCP-IP. Needs {@code io.vertx:vertx-hazelcast} on the application's classpath;
 * examples/eventbus-app spells the same settings out for readers.
 */
public final class LiteMember {

  private LiteMember() {
  }

  /**
   * @param clusterName the hub's {@code cluster.name}
   * @param host        the address this application binds to
   * @param members     the hub's members, {@code host:port} or {@code host:port-port} each
   */
  public static Config config(String clusterName, String host, List<String> members) {
    Config hz = ConfigUtil.loadConfig(); // the maps Vert.x needs
    hz.setClusterName(clusterName);
    hz.setLiteMember(true);
    hz.setProperty("hazelcast.logging.type", "jdk");
    hz.setProperty("hazelcast.phone.home.enabled", "false");
    hz.setProperty("hazelcast.socket.bind.any", "false");
    hz.setProperty("hazelcast.local.localAddress", host);
    hz.getNetworkConfig().getInterfaces().setEnabled(true).addInterface(host);
    hz.getNetworkConfig().getJoin().getMulticastConfig().setEnabled(false);
    hz.getNetworkConfig().getJoin().getAutoDetectionConfig().setEnabled(false);
    var tcp = hz.getNetworkConfig().getJoin().getTcpIpConfig().setEnabled(true);
    members.forEach(tcp::addMember);
    return hz;
  }
}
