package dev.agenthub.hub;

import dev.agenthub.agents.AgentSpec;
import dev.agenthub.agents.AgentVerticle;
import dev.agenthub.config.HubConfig;
import dev.agenthub.hub.cluster.ClusterView;
import dev.agenthub.hub.cluster.NodeEntry;
import dev.agenthub.protocol.AgentEvents;
import dev.agenthub.protocol.MessageAuth;
import dev.agenthub.protocol.TokenCounter;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.logging.Logger;

/**
 * Runs on this node the agent instances the placement plan gives it, and follows the plan as nodes
 * come and go: an instance placed here is deployed, one placed elsewhere is undeployed (it stops
 * taking turns and finishes those it has; its sessions continue on the new owner from their
 * transcripts).
 */
final class AgentPlacer extends VerticleBase {

  private static final long RECONCILE_MS = 500;
  private static final Logger LOG = Logger.getLogger(AgentPlacer.class.getName());

  private final HubConfig config;
  private final Supplier<ClusterView> view;
  private final AgentEvents events;
  private final Function<String, MessageAuth.Signer> signers;
  private final MessageAuth.Verifier verifier;
  private final Map<String, String> deployments = new HashMap<>();
  private final Map<String, AgentVerticle> running = new ConcurrentHashMap<>();
  private volatile boolean placed;
  private boolean busy;

  private final Function<String, TokenCounter> counters;

  /**
   * @param signers  the node's signers: each instance gets one holding its own agent's key only
   * @param verifier this node's verifier, which checks that turns come from a node
   */
  AgentPlacer(HubConfig config, Supplier<ClusterView> view, AgentEvents events, Function<String, MessageAuth.Signer> signers,
              MessageAuth.Verifier verifier, Function<String, TokenCounter> counters) {
    this.verifier = verifier;
    this.counters = counters;
    this.signers = signers;
    this.config = config;
    this.view = view;
    this.events = events;
  }

  /** True once the first plan is deployed. */
  boolean placed() {
    return placed;
  }

  /** Turns waiting or running in this node's instances of {@code agent}. */
  int queueDepth(String agent) {
    int sum = 0;
    for (AgentVerticle v : running.values()) {
      if (v.agent().equals(agent)) {
        sum += v.queueDepth();
      }
    }
    return sum;
  }

  @Override
  public Future<?> start() {
    vertx.setPeriodic(RECONCILE_MS, id -> reconcile());
    return reconcile().onSuccess(v -> placed = true);
  }

  private Future<Void> reconcile() {
    if (busy) {
      return Future.succeededFuture();
    }
    busy = true;
    String node = config.node().name();
    Map<String, NodeEntry.Placement> wanted = new HashMap<>();
    for (NodeEntry.Placement p : view.get().on(node)) {
      wanted.put(p.instance(), p);
    }
    List<Future<?>> changes = new ArrayList<>();
    Set<String> gone = new HashSet<>(deployments.keySet());
    gone.removeAll(wanted.keySet());
    for (String instance : gone) {
      String id = deployments.remove(instance);
      running.remove(instance);
      LOG.info("agent instance " + instance + " leaves node " + node);
      changes.add(vertx.undeploy(id).onFailure(err -> LOG.warning("undeploying " + instance + ": " + err.getMessage())));
    }
    for (NodeEntry.Placement p : wanted.values()) {
      if (deployments.containsKey(p.instance())) {
        continue;
      }
      AgentSpec spec = config.agent(p.agent()).orElseThrow();
      AgentVerticle v = new AgentVerticle(spec, p.id(), node, events, signers.apply(spec.id()),
        counters, verifier);
      deployments.put(p.instance(), "pending");
      changes.add(vertx.deployVerticle(v).onSuccess(id -> {
        deployments.put(p.instance(), id);
        running.put(p.instance(), v);
        if (placed) {
          LOG.info("agent instance " + p.instance() + " now runs on node " + node);
        }
      }).onFailure(err -> {
        deployments.remove(p.instance());
        LOG.warning("deploying " + p.instance() + ": " + err.getMessage());
      }));
    }
    return Future.join(changes).<Void>mapEmpty().eventually(() -> {
      busy = false;
      return Future.succeededFuture();
    });
  }
}
