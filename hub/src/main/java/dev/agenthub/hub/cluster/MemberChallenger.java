package dev.agenthub.hub.cluster;

import dev.agenthub.client.LiteMember;
import dev.agenthub.protocol.MessageAuth;

import com.hazelcast.cluster.Member;
import com.hazelcast.cluster.MembershipEvent;
import com.hazelcast.cluster.MembershipListener;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.core.HazelcastInstanceNotActiveException;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonObject;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;

import java.security.SecureRandom;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.logging.Logger;

/**
 * Every member must prove it holds the cluster secret. Hazelcast open source sends the cluster name
 * (derived from the secret) in clear, so whoever sniffs member traffic can join; this node challenges
 * every other member over the event bus (a fresh nonce to {@link LiteMember#PROOF_ADDRESS} and the
 * member's Vert.x node id) and expects {@link LiteMember#proofText} signed under the proof key. A
 * member that fails ({@link ProvenMembers}) is an intruder: logged once, counted, listed by {@link
 * #intruders} and in {@link #trouble}. New members are challenged when they appear and at every
 * sweep, so none is missed. It also answers the other nodes' challenges for this node.
 */
public final class MemberChallenger extends VerticleBase {

  private static final Logger LOG = Logger.getLogger(MemberChallenger.class.getName());
  private static final long SWEEP_MS = 3_000;
  private static final long ANSWER_TIMEOUT_MS = 5_000;
  /** vertx-hazelcast's member attribute: the member's Vert.x node id (none: not a Vert.x member). */
  private static final String VERTX_NODE_ID = "__vertx.nodeId";
  private static final SecureRandom RANDOM = new SecureRandom();

  private final HazelcastClusterManager clusterManager;
  private final byte[] secret;
  private final byte[] key;
  private final String clusterName;
  private final Runnable onIntruder;
  private final ProvenMembers members = new ProvenMembers();
  private volatile List<ProvenMembers.Intruder> intruders = List.of();
  private UUID listenerId;
  private long timerId = -1;

  /**
   * @param clusterName the hub's {@code cluster.name}, for the log lines
   * @param onIntruder  called on this verticle's context each time a member is named an intruder
   */
  public MemberChallenger(HazelcastClusterManager clusterManager, byte[] secret, String clusterName,
                          Runnable onIntruder) {
    this.clusterManager = clusterManager;
    this.secret = secret.clone();
    this.key = MessageAuth.key(secret, LiteMember.PROOF_KEY);
    this.clusterName = clusterName;
    this.onIntruder = onIntruder;
  }

  /** The intruders present ({@code host:port} each); safe from any thread. */
  public List<String> intruders() {
    return intruders.stream().map(ProvenMembers.Intruder::address).toList();
  }

  /** Why this node's cluster is not sound, for readiness: the intruders present, or null. */
  public String trouble() {
    List<ProvenMembers.Intruder> now = intruders;
    if (now.isEmpty()) {
      return null;
    }
    return "intruder in the cluster: " + String.join(", ", now.stream()
      .map(i -> i.address() + " (member " + i.uuid() + ")").toList()) + " did not prove it holds the cluster secret";
  }

  @Override
  public Future<?> start() {
    HazelcastInstance hazelcast = clusterManager.getHazelcastInstance();
    listenerId = hazelcast.getCluster().addMembershipListener(new MembershipListener() {
      @Override
      public void memberAdded(MembershipEvent event) {
        context.runOnContext(v -> sweep());
      }

      @Override
      public void memberRemoved(MembershipEvent event) {
        context.runOnContext(v -> sweep());
      }
    });
    timerId = vertx.setPeriodic(SWEEP_MS, id -> sweep());
    // this node answers the others first: a node that joins is challenged at once
    return LiteMember.answerChallenges(vertx, clusterManager, secret).onSuccess(v -> sweep());
  }

  @Override
  public Future<?> stop() {
    if (timerId >= 0) {
      vertx.cancelTimer(timerId);
    }
    HazelcastInstance hazelcast = clusterManager.getHazelcastInstance();
    if (listenerId != null && hazelcast.getLifecycleService().isRunning()) {
      hazelcast.getCluster().removeMembershipListener(listenerId);
    }
    return Future.succeededFuture();
  }

  /** Challenges every member that has not proved itself yet (reads Hazelcast's local member list only). */
  private void sweep() {
    HazelcastInstance hazelcast = clusterManager.getHazelcastInstance();
    Map<UUID, Member> present = new HashMap<>();
    Map<UUID, String> addresses = new HashMap<>();
    UUID self;
    try {
      self = hazelcast.getCluster().getLocalMember().getUuid();
      for (Member m : hazelcast.getCluster().getMembers()) {
        if (!m.localMember()) {
          present.put(m.getUuid(), m);
          addresses.put(m.getUuid(), m.getAddress().getHost() + ":" + m.getAddress().getPort());
        }
      }
    } catch (HazelcastInstanceNotActiveException e) {
      return; // this node has left its cluster: MembershipWatch says so
    }
    for (ProvenMembers.Intruder gone : members.forget(present.keySet())) {
      LOG.info("the intruder at " + gone.address() + " (member " + gone.uuid() + ") left cluster '" + clusterName + "'");
    }
    for (UUID uuid : members.due(addresses, System.currentTimeMillis())) {
      challenge(present.get(uuid), self);
    }
    intruders = members.intruders();
  }

  private void challenge(Member member, UUID self) {
    String nonce = nonce();
    String nodeId = member.getAttribute(VERTX_NODE_ID);
    JsonObject ask = new JsonObject().put("nonce", nonce).put("challenger", self.toString());
    // a member without a Vert.x node id has no event bus, so it cannot answer
    Future<Message<Object>> answer = nodeId == null ? Future.failedFuture("no event bus")
      : vertx.eventBus().request(LiteMember.PROOF_ADDRESS + nodeId, ask,
        new DeliveryOptions().setSendTimeout(ANSWER_TIMEOUT_MS));
    answer.onComplete(ar -> {
      boolean holds = ar.succeeded() && ar.result().body() instanceof JsonObject body
        && body.getValue("proof") instanceof String proof
        && MessageAuth.verify(key, LiteMember.proofText(nonce, member.getUuid().toString(), self.toString()), proof);
      String address = member.getAddress().getHost() + ":" + member.getAddress().getPort();
      if (holds) {
        if (members.proved(member.getUuid())) {
          LOG.info("the member at " + address + " (member " + member.getUuid() + ") of cluster '" + clusterName
            + "' proved it holds the cluster secret after all: no longer an intruder");
        }
      } else if (members.failed(member.getUuid(), System.currentTimeMillis())) {
        LOG.warning("intruder in cluster '" + clusterName + "': the member at " + address + " (member "
          + member.getUuid() + ") did not prove it holds the cluster secret (no right answer in "
          + ProvenMembers.DEADLINE_MS / 1000 + " s; the last challenge: "
          + (ar.succeeded() ? "a wrong answer" : ar.cause().getMessage()) + "); it can read and write the cluster's "
          + "maps until it leaves: close the Hazelcast port to it");
        onIntruder.run();
      }
      intruders = members.intruders();
    });
  }

  private static String nonce() {
    byte[] bytes = new byte[32];
    RANDOM.nextBytes(bytes);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }
}
