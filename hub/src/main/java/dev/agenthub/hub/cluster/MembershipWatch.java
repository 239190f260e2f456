package dev.agenthub.hub.cluster;

import com.hazelcast.cluster.Member;
import com.hazelcast.core.HazelcastInstance;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.logging.Logger;

/**
 * Whether this node is really in its cluster. Hazelcast drops a join request whose cluster name
 * differs without a word, and the cluster name is derived from the secret, so a node started with
 * another secret (or another {@code cluster.name}) simply forms a cluster of its own. This watch
 * notices it: when this node has no other data member while a Hazelcast member answers at one of
 * the configured member addresses, that member's cluster did not take us. It also notices a
 * Hazelcast instance that stopped under a running node (a cluster shutdown). {@link #check} does
 * blocking socket work: call it off the event loop.
 */
public final class MembershipWatch {

  private static final Logger LOG = Logger.getLogger(MembershipWatch.class.getName());
  /** How long a foreign member must keep answering before the node counts as out of its cluster. */
  public static final long OUT_AFTER_MS = 12_000;
  private static final byte[] PROTOCOL = "HZC".getBytes(StandardCharsets.US_ASCII);

  /** What the watch last saw. */
  public enum State { IN, STARTING, OUT, STOPPED }

  private final HazelcastInstance hazelcast;
  private final List<String> members;
  private final String clusterName;
  private volatile State state = State.STARTING;
  private volatile String foreign;
  private long foreignSince = -1;
  private long outSince = -1;

  /**
   * @param members the configured member addresses ({@code host:port}); empty with Kubernetes discovery
   * @param clusterName the hub's {@code cluster.name}, for the log line
   */
  public MembershipWatch(HazelcastInstance hazelcast, List<String> members, String clusterName) {
    this.hazelcast = hazelcast;
    this.members = List.copyOf(members);
    this.clusterName = clusterName;
  }

  public State state() {
    return state;
  }

  /** The address of a member that answered but did not take this node, or null. */
  public String foreign() {
    return foreign;
  }

  /** Since when (ms) this node has been out of its cluster, or -1. */
  public long outSince() {
    return outSince;
  }

  /** Whether the node is in its cluster, for readiness. */
  public boolean in() {
    return state == State.IN;
  }

  /** Why the node is not in its cluster, for readiness; null when it is. */
  public String trouble() {
    return switch (state) {
      case IN -> null;
      case STARTING -> "not checked yet whether this node is in its cluster";
      case STOPPED -> "the Hazelcast instance of this node stopped";
      case OUT -> "this node is not in its cluster: the member at " + foreign
        + " answers but does not take it in (another cluster secret or cluster.name?)";
    };
  }

  /** Looks once; {@code now} in ms. Blocking (connects to the configured members). */
  public synchronized State check(long now) {
    if (!hazelcast.getLifecycleService().isRunning()) {
      if (state != State.STOPPED) {
        LOG.severe("the Hazelcast instance of this node stopped: it is no longer in cluster '" + clusterName
          + "' and answers no cluster request");
      }
      state = State.STOPPED;
      return state;
    }
    Set<String> inCluster = new HashSet<>();
    boolean others = false;
    Member self = hazelcast.getCluster().getLocalMember();
    for (Member m : hazelcast.getCluster().getMembers()) {
      inCluster.add(m.getAddress().getHost() + ":" + m.getAddress().getPort());
      if (!m.localMember() && !m.isLiteMember()) {
        others = true;
      }
    }
    String answering = null;
    if (!others) {
      for (String member : members) {
        if (!inCluster.contains(member) && !isSelf(member, self) && answersAsHazelcast(member)) {
          answering = member;
          break;
        }
      }
    }
    if (answering == null) {
      foreignSince = -1;
      foreign = null;
      outSince = -1;
      state = State.IN;
      return state;
    }
    if (foreignSince < 0) {
      foreignSince = now;
    }
    foreign = answering;
    if (now - foreignSince >= OUT_AFTER_MS) {
      if (state != State.OUT) {
        outSince = now;
        LOG.severe("this node is not in cluster '" + clusterName + "': the Hazelcast member at " + answering
          + " answers but does not take it in. Its cluster secret (AGENTHUB_CLUSTER_SECRET) or cluster.name "
          + "differs from this node's; give every node the same secret");
      }
      state = State.OUT;
    }
    return state;
  }

  /**
   * Whether {@code hostPort} is this member itself, however it is spelled: a host name, {@code
   * localhost}, or any address of this machine at this member's port (a node must never count its
   * own answer as a foreign member's).
   */
  static boolean isSelf(String hostPort, Member self) {
    int colon = hostPort.lastIndexOf(':');
    int port;
    try {
      port = Integer.parseInt(hostPort.substring(colon + 1));
    } catch (NumberFormatException e) {
      return false;
    }
    if (port != self.getAddress().getPort()) {
      return false;
    }
    try {
      InetAddress address = InetAddress.getByName(hostPort.substring(0, colon));
      return address.equals(self.getAddress().getInetAddress()) || address.isAnyLocalAddress()
        || address.isLoopbackAddress() && self.getAddress().getInetAddress().isLoopbackAddress()
        || NetworkInterface.getByInetAddress(address) != null;
    } catch (IOException e) {
      return false; // a name that does not resolve is nobody's
    }
  }

  /** Whether a Hazelcast member listens at {@code hostPort}: it answers the member protocol's header. */
  static boolean answersAsHazelcast(String hostPort) {
    int colon = hostPort.lastIndexOf(':');
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress(hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1))),
        500);
      socket.setSoTimeout(1_000);
      socket.getOutputStream().write(PROTOCOL);
      socket.getOutputStream().flush();
      InputStream in = socket.getInputStream();
      byte[] got = in.readNBytes(PROTOCOL.length);
      return got.length == PROTOCOL.length && got[0] == PROTOCOL[0] && got[1] == PROTOCOL[1] && got[2] == PROTOCOL[2];
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }
}
