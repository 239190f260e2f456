package dev.agenthub.client;

import dev.agenthub.protocol.MessageAuth;

import com.hazelcast.config.Config;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.spi.cluster.hazelcast.ConfigUtil;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;

import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * The Hazelcast settings of an application trusted like a node that joins a hub's cluster as a lite
 * member (it holds no data and is never taken for a node) bound to one host, joining the hub's
 * members by TCP-IP. Membership needs the cluster secret: the Hazelcast cluster name is derived
 * from it ({@link #clusterName}), and every member must prove to the nodes that it holds the secret
 * ({@link #answerChallenges}), or the nodes name it an intruder. A member sees every internal
 * address and map of the cluster; applications that only send messages to agents use the bridge
 * instead. Needs {@code io.vertx:vertx-hazelcast} on the application's classpath.
 */
public final class LiteMember {

  /**
   * Where a member answers the nodes' challenges: this prefix and its Vert.x node id (the cluster
   * manager's {@code getNodeId()}, which stays when Hazelcast gives the member a new UUID).
   */
  public static final String PROOF_ADDRESS = "agenthub.member.proof.";
  /** What the proof key is derived from (HMAC-SHA256 of it under the cluster secret). */
  public static final String PROOF_KEY = "agenthub member proof key";
  private static final Pattern NONCE = Pattern.compile("[A-Za-z0-9_-]{16,128}");

  private LiteMember() {
  }

  /**
   * The Hazelcast cluster name of the hub cluster {@code name} whose secret is {@code secret}: the
   * name, a dash and 32 hex digits of an HMAC of it under the secret. Hazelcast refuses a join
   * request under another cluster name, so a process that knows only the hub's name and members
   * cannot join, and a node with another secret forms no cluster with these.
   */
  public static String clusterName(String name, byte[] secret) {
    byte[] tag = MessageAuth.hmac(secret, ("agenthub hazelcast cluster name\n" + name).getBytes(StandardCharsets.UTF_8));
    return name + "-" + HexFormat.of().formatHex(tag, 0, 16);
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

  /**
   * Answers the hub nodes' challenges, so that they know this member holds the cluster secret: call
   * it once the application's clustered Vert.x is built (a member that has not answered within
   * about 15 s is named an intruder by every node, which then reports itself not ready). Each
   * challenge is answered with a proof ({@link #proofText}) for this member's current Hazelcast UUID.
   *
   * @return completes once the answering consumer is registered in the cluster
   */
  public static Future<Void> answerChallenges(Vertx vertx, HazelcastClusterManager clusterManager, byte[] secret) {
    byte[] key = MessageAuth.key(secret, PROOF_KEY);
    return vertx.eventBus().<Object>consumer(PROOF_ADDRESS + clusterManager.getNodeId(), message -> {
      JsonObject ask = message.body() instanceof JsonObject json ? json : new JsonObject();
      String nonce = ask.getValue("nonce") instanceof String n ? n : "";
      String challenger = ask.getValue("challenger") instanceof String c ? c : "";
      if (!NONCE.matcher(nonce).matches() || !isUuid(challenger)) {
        message.fail(400, "a challenge is {nonce, challenger}");
        return;
      }
      String member;
      try {
        // the proof names this member's own UUID, never one from the challenge: it vouches for no one else
        member = clusterManager.getHazelcastInstance().getCluster().getLocalMember().getUuid().toString();
      } catch (RuntimeException e) {
        message.fail(503, "this member is leaving its cluster");
        return;
      }
      message.reply(new JsonObject().put("member", member)
        .put("proof", MessageAuth.sign(key, proofText(nonce, member, challenger))));
    }).completion();
  }

  /**
   * What a member's answer to a challenge signs: the answer is base64url (no padding) of HMAC-SHA256
   * of this text under the proof key (the HMAC of {@link #PROOF_KEY} under the cluster secret);
   * member and challenger are Hazelcast member UUIDs. The challenger's fresh nonce and both UUIDs in
   * it make an answer seen on the wire useless for any other challenge.
   */
  public static String proofText(String nonce, String member, String challenger) {
    return "agenthub member proof\n" + nonce + "\n" + member + "\n" + challenger;
  }

  private static boolean isUuid(String text) {
    try {
      return UUID.fromString(text).toString().equals(text);
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

}
