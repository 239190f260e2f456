package dev.agenthub.client;

import com.hazelcast.config.Config;
import io.vertx.spi.cluster.hazelcast.ConfigUtil;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.HexFormat;
import java.util.List;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The Hazelcast settings of an application trusted like a node that joins a hub's cluster as a lite
 * member (it holds no data and is never taken for a node) bound to one host, joining the hub's
 * members by TCP-IP. Membership needs the cluster secret: the Hazelcast cluster name is derived
 * from it ({@link #clusterName}), so a process without the secret is never taken in. A member sees
 * every internal address and map of the cluster; applications that only send messages to agents
 * use the bridge instead. Needs {@code io.vertx:vertx-hazelcast} on the application's classpath.
 */
public final class LiteMember {

  private LiteMember() {
  }

  /**
   * The Hazelcast cluster name of the hub cluster {@code name} whose secret is {@code secret}: the
   * name, a dash and 32 hex digits of an HMAC of it under the secret. Hazelcast refuses a join
   * request under another cluster name, so a process that knows only the hub's name and members
   * cannot join, and a node with another secret forms no cluster with these.
   */
  public static String clusterName(String name, byte[] secret) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret, "HmacSHA256"));
      byte[] tag = mac.doFinal(("agenthub hazelcast cluster name\n" + name).getBytes(StandardCharsets.UTF_8));
      return name + "-" + HexFormat.of().formatHex(tag, 0, 16);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 unavailable", e);
    }
  }

  /**
   * @param clusterName the hub's {@code cluster.name}
   * @param secret      the hub's cluster secret ({@code AGENTHUB_CLUSTER_SECRET})
   * @param host        the address this application binds to
   * @param members     the hub's members, {@code host:port} or {@code host:port-port} each
   */
  public static Config config(String clusterName, byte[] secret, String host, List<String> members) {
    Config hz = ConfigUtil.loadConfig(); // the maps Vert.x needs
    hz.setClusterName(clusterName(clusterName, secret));
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
