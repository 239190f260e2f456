package dev.agenthub.hub.cluster;

import dev.agenthub.agents.AgentSpec;

import com.hazelcast.cluster.Member;
import com.hazelcast.cluster.MembershipEvent;
import com.hazelcast.cluster.MembershipListener;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.spi.cluster.NodeInfo;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * Keeps the live cluster view: which nodes are up and which agent instances they run. It owns the
 * node table on its own context and publishes immutable {@link ClusterView} snapshots that gateways
 * read without locks. Hazelcast membership events trigger a refresh; a periodic refresh also catches
 * a node whose metadata was not yet published when it joined.
 */
public final class NodeDirectory extends VerticleBase {

  private static final Logger LOG = Logger.getLogger(NodeDirectory.class.getName());
  private static final long RESYNC_MS = 2_000;
  private static final long LOOKUP_TIMEOUT_MS = 2_000;

  private final HazelcastClusterManager clusterManager;
  private final NodeEntry self;
  private final List<AgentSpec> agents;
  private final Map<String, NodeEntry> nodes = new HashMap<>();
  private volatile ClusterView view;
  private UUID listenerId;
  private long timerId = -1;
  private boolean refreshing;
  private boolean pendingRefresh;

  /**
   * @param clusterManager the node's cluster manager, or null when the node runs alone
   * @param self           this node's entry
   */
  public NodeDirectory(HazelcastClusterManager clusterManager, NodeEntry self, List<AgentSpec> agents) {
    this.clusterManager = clusterManager;
    this.self = self;
    this.agents = agents;
    this.view = ClusterView.of(List.of(self), agents);
  }

  /** The latest snapshot; safe to call from any thread. */
  public ClusterView view() {
    return view;
  }

  @Override
  public Future<?> start() {
    if (clusterManager == null) {
      return Future.succeededFuture();
    }
    nodes.put(clusterManager.getNodeId(), self.withNodeId(clusterManager.getNodeId()));
    listenerId = clusterManager.getHazelcastInstance().getCluster().addMembershipListener(new MembershipListener() {
      @Override
      public void memberAdded(MembershipEvent event) {
        context.runOnContext(v -> refresh());
      }

      @Override
      public void memberRemoved(MembershipEvent event) {
        context.runOnContext(v -> refresh());
      }
    });
    timerId = vertx.setPeriodic(RESYNC_MS, id -> refresh());
    return refresh();
  }

  @Override
  public Future<?> stop() {
    if (timerId >= 0) {
      vertx.cancelTimer(timerId);
    }
    if (listenerId != null && clusterManager.getHazelcastInstance().getLifecycleService().isRunning()) {
      clusterManager.getHazelcastInstance().getCluster().removeMembershipListener(listenerId);
    }
    return Future.succeededFuture();
  }

  private Future<Void> refresh() {
    if (refreshing) {
      pendingRefresh = true;
      return Future.succeededFuture();
    }
    if (!clusterManager.isActive()) {
      return Future.succeededFuture();
    }
    refreshing = true;
    Set<String> live = new HashSet<>(clusterManager.getNodes());
    // lite members are applications (clients of the event-bus API), never nodes: they hold no data
    // and get no agent instances, and their coming and going changes nothing
    for (Member m : clusterManager.getHazelcastInstance().getCluster().getMembers()) {
      if (m.isLiteMember()) {
        live.remove(m.getUuid().toString());
      }
    }
    List<Future<NodeEntry>> lookups = new ArrayList<>();
    for (String id : live) {
      if (!nodes.containsKey(id)) {
        Promise<NodeInfo> promise = Promise.promise();
        clusterManager.getNodeInfo(id, promise);
        // a lookup can hang while the member that holds the entry is dying: never wait for it long
        lookups.add(promise.future().timeout(LOOKUP_TIMEOUT_MS, TimeUnit.MILLISECONDS)
          .map(info -> info == null ? null : NodeEntry.fromMetadata(id, info.metadata()))
          .otherwise((NodeEntry) null));
      }
    }
    return Future.join(lookups).transform(ignored -> {
      refreshing = false;
      if (pendingRefresh) {
        // membership changed while we looked: look again
        pendingRefresh = false;
        vertx.runOnContext(v -> refresh());
      }
      boolean changed = nodes.keySet().removeIf(id -> {
        if (!live.contains(id)) {
          LOG.info("node left: " + nodes.get(id).name());
          return true;
        }
        return false;
      });
      for (Future<NodeEntry> f : lookups) {
        NodeEntry entry = f.result();
        if (entry != null && live.contains(entry.nodeId())) {
          nodes.put(entry.nodeId(), entry);
          LOG.info("node joined: " + entry.name() + " (" + entry.address() + ")");
          changed = true;
        }
      }
      if (changed) {
        view = ClusterView.of(new ArrayList<>(nodes.values()), agents);
      }
      return Future.<Void>succeededFuture();
    });
  }
}
