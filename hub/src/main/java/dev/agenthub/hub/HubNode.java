package dev.agenthub.hub;

import dev.agenthub.agents.AgentSpec;
import dev.agenthub.channels.ChannelsVerticle;
import dev.agenthub.config.HubConfig;
import dev.agenthub.config.Secrets;
import dev.agenthub.governor.GovernorVerticle;
import dev.agenthub.governor.TokenCounters;
import dev.agenthub.governor.ledger.BudgetCounters;
import dev.agenthub.governor.ledger.LedgerVerticle;
import dev.agenthub.hub.cluster.ClusterView;
import dev.agenthub.hub.cluster.HazelcastSetup;
import dev.agenthub.hub.cluster.MemberChallenger;
import dev.agenthub.hub.cluster.MembershipWatch;
import dev.agenthub.hub.cluster.NodeDirectory;
import dev.agenthub.hub.cluster.NodeEntry;
import dev.agenthub.hub.gateway.BridgeDoor;
import dev.agenthub.hub.gateway.DelegationVerticle;
import dev.agenthub.hub.gateway.EventBusDoor;
import dev.agenthub.hub.gateway.GatewayContext;
import dev.agenthub.hub.gateway.GatewayVerticle;
import dev.agenthub.hub.gateway.ReadinessCheck;
import dev.agenthub.hub.gateway.TurnIntake;
import dev.agenthub.hub.memory.MemoryProbe;
import dev.agenthub.hub.metrics.AuditLog;
import dev.agenthub.hub.metrics.HubMetrics;
import dev.agenthub.hub.telemetry.Tracing;
import dev.agenthub.mcp.McpVerticle;
import dev.agenthub.mcp.door.DoorSessions;
import dev.agenthub.memory.MarkdownStore;
import dev.agenthub.memory.MemoryClient;
import dev.agenthub.memory.MemoryPolicy;
import dev.agenthub.memory.SharedMemoryVerticle;
import dev.agenthub.protocol.Failure;
import dev.agenthub.protocol.MessageAuth;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.eventbus.EventBusOptions;
import io.vertx.core.http.ClientAuth;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.micrometer.MetricsDomain;
import io.vertx.micrometer.MicrometerMetricsFactory;
import io.vertx.micrometer.MicrometerMetricsOptions;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import java.util.logging.Logger;

/**
 * One running node: a (clustered) Vert.x with the governor, this node's agent instances, the node
 * directory and the HTTP gateway deployed on it. {@link #start} assembles it, {@link #close} takes it
 * down in order (gateway first, so requests in flight are answered, then the cluster is left).
 */
public final class HubNode {

  private static final Logger LOG = Logger.getLogger(HubNode.class.getName());
  /** Seconds without a heartbeat before a member is declared dead. */
  public static final int FAILURE_DETECTION_SECONDS = 5;
  private static final long MEMBERSHIP_CHECK_MS = 3_000;

  private final HubConfig config;
  private final Vertx vertx;
  private final HazelcastClusterManager clusterManager;
  private final PrometheusMeterRegistry registry;
  private final int httpPort;
  private final NodeDirectory directory;
  private final List<String> gatewayDeployments = new ArrayList<>();
  private final List<String> placerDeployments = new ArrayList<>();
  private String bridgeDeployment;
  private AuditLog audit;
  private final AtomicBoolean closed = new AtomicBoolean();
  private final Map<String, String> secrets;
  private final byte[] clusterSecret;
  // binds this node's local signatures (signLocal) to this node: its signers and its verifiers only
  private final byte[] localKey = MessageAuth.newLocalKey();
  private final Tracing tracing;
  private final MembershipWatch membership;
  private long membershipTimer = -1;
  private TurnIntake intake;

  private HubNode(HubConfig config, Vertx vertx, HazelcastClusterManager clusterManager,
                  PrometheusMeterRegistry registry, int httpPort, NodeDirectory directory, Map<String, String> secrets,
                  byte[] clusterSecret, Tracing tracing, MembershipWatch membership) {
    this.tracing = tracing;
    this.membership = membership;
    this.secrets = secrets;
    this.clusterSecret = clusterSecret;
    this.config = config;
    this.vertx = vertx;
    this.clusterManager = clusterManager;
    this.registry = registry;
    this.httpPort = httpPort;
    this.directory = directory;
  }

  public Vertx vertx() {
    return vertx;
  }

  public HubConfig config() {
    return config;
  }

  public int httpPort() {
    return httpPort;
  }

  public String url() {
    return "http://" + config.node().http().host() + ":" + httpPort;
  }

  public ClusterView view() {
    return directory.view();
  }

  /** Whether this node is in its cluster (null when it runs standalone). */
  public MembershipWatch membership() {
    return membership;
  }

  /** A signer of {@code principal} in this node's cluster (for tools and tests that act as it). */
  public MessageAuth.Signer signer(String principal) {
    return MessageAuth.Signer.of(clusterSecret, principal, localKey);
  }

  /** Starts a node with the API key secrets of the process environment. */
  public static Future<HubNode> start(HubConfig config) {
    Map<String, String> secrets;
    try {
      secrets = Secrets.load(config, System.getenv());
    } catch (RuntimeException e) {
      return Future.failedFuture(e);
    }
    return start(config, secrets);
  }

  /** Starts a node with the cluster secret of the process environment. */
  public static Future<HubNode> start(HubConfig config, Map<String, String> secrets) {
    byte[] clusterSecret;
    try {
      // before anything joins a cluster: a node that may not start must not be seen
      clusterSecret = Secrets.clusterSecret(config, System.getenv());
    } catch (RuntimeException e) {
      return Future.failedFuture(e);
    }
    return start(config, secrets, clusterSecret);
  }

  /**
   * Starts a node; call from a non-event-loop thread or compose on the returned future.
   *
   * @param clusterSecret the cluster's secret ({@link Secrets#clusterSecret}): it names the Hazelcast
   *                      cluster this node may join and keys every signature on the event bus
   */
  public static Future<HubNode> start(HubConfig config, Map<String, String> secrets, byte[] clusterSecret) {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    int port = config.node().http().port() == 0 ? freePort(config.node().http().host()) : config.node().http().port();
    List<AgentSpec> local = config.agentsForRoles(config.node().roles());
    String name = config.node().name();
    NodeEntry self = new NodeEntry(null, name, config.node().roles(),
      "http://" + config.node().http().host() + ":" + port, Instant.now().truncatedTo(ChronoUnit.SECONDS).toString(),
      config.node().bridge().address());

    HubConfig.Cluster cluster = config.cluster();
    // more event loops than the default two per core: Vert.x hands them out in turn, and the heavy
    // verticles (governor, memory writer, gateways, agent instances) each need a loop of their own,
    // or two of them end up sharing one thread while the other cores idle
    VertxOptions options = new VertxOptions().setEventLoopPoolSize(eventLoops(config))
      .setMetricsOptions(new MicrometerMetricsOptions().setEnabled(true).setJvmMetricsEnabled(true)
        // Vert.x's own meters per event-bus message and per client connection cost a registry lookup
        // on every message of every turn; agenthub_* meters count what operators read instead (the
        // HTTP server's, the worker pools' and the JVM's stay)
        .addDisabledMetricsCategory(MetricsDomain.EVENT_BUS)
        .addDisabledMetricsCategory(MetricsDomain.HTTP_CLIENT)
        .addDisabledMetricsCategory(MetricsDomain.NET_CLIENT)
        .addDisabledMetricsCategory(MetricsDomain.NET_SERVER)
        .addDisabledMetricsCategory(MetricsDomain.DATAGRAM_SOCKET));
    var builder = Vertx.builder().withMetrics(new MicrometerMetricsFactory(registry));
    Tracing tracing = Tracing.create(config.operations(), name);
    if (tracing.on()) {
      builder.withTracer(tracing.factory());
    }
    Future<Vertx> vertxFuture;
    HazelcastClusterManager clusterManager;
    if (cluster.enabled()) {
      EventBusOptions eventBus = new EventBusOptions().setHost(cluster.host()).setPort(0)
        .setClusterPublicHost(cluster.host()).setClusterNodeMetadata(self.toMetadata());
      if (cluster.tls() != null) {
        // every node presents its certificate and accepts only peers whose certificate the CA signed
        eventBus.setSsl(true).setClientAuth(ClientAuth.REQUIRED)
          .setKeyCertOptions(new PemKeyCertOptions().setCertPath(cluster.tls().cert())
            .setKeyPath(cluster.tls().key()))
          .setTrustOptions(new PemTrustOptions().addCertPath(cluster.tls().ca()));
      }
      options.setEventBusOptions(eventBus);
      clusterManager = new HazelcastClusterManager(HazelcastSetup.config(cluster, clusterSecret, FAILURE_DETECTION_SECONDS));
      vertxFuture = builder.with(options).withClusterManager(clusterManager).buildClustered();
    } else {
      clusterManager = null;
      vertxFuture = Future.succeededFuture(builder.with(options).build());
    }
    return vertxFuture.compose(vertx -> {
      Failure.register(vertx.eventBus()); // failures reach other nodes with their kind
      NodeDirectory directory = new NodeDirectory(clusterManager, self, config.agents());
      MembershipWatch watch = clusterManager == null ? null : new MembershipWatch(clusterManager.getHazelcastInstance(),
        cluster.kubernetes() ? List.of() : cluster.members(), cluster.name());
      HubNode node = new HubNode(config, vertx, clusterManager, registry, port, directory, secrets, clusterSecret,
        tracing, watch);
      Promise<HubNode> started = Promise.promise();
      node.deploy(local).onComplete(ar -> {
        if (ar.succeeded()) {
          started.complete(node);
        } else {
          closeVertx(vertx, registry).onComplete(ignored -> started.fail(ar.cause()));
        }
      });
      return started.future();
    });
  }

  /** Event loops for this node: two per core, and at least one per verticle that does real work. */
  static int eventLoops(HubConfig config) {
    int cores = Runtime.getRuntime().availableProcessors();
    int instances = 0;
    for (AgentSpec a : config.agentsForRoles(config.node().roles())) {
      instances += a.instances();
    }
    // directory, memory, probe, ledger, governor, delegation, placer, gateways (up to 4), and a few
    // contexts the cluster manager takes
    int fixed = 16;
    return Math.max(2 * cores, Math.min(fixed + instances, 64));
  }

  private Future<Void> deploy(List<AgentSpec> local) {
    audit = AuditLog.open(Path.of(config.auditDir()), config.node().name(),
      config.operations().auditRetentionMonths());
    HubMetrics metrics = new HubMetrics(registry, audit);
    AtomicBoolean agentsReady = new AtomicBoolean();
    AtomicBoolean httpReady = new AtomicBoolean();
    // every other member must prove it holds the secret; this node answers the others' challenges
    MemberChallenger challenger = clusterManager == null ? null
      : new MemberChallenger(clusterManager, clusterSecret, config.cluster().name(), metrics::intruder);
    Map<String, BooleanSupplier> ready = new LinkedHashMap<>();
    ready.put("cluster", (ReadinessCheck) () -> clusterTrouble(challenger));
    ready.put("agents", agentsReady::get);
    ready.put("http", httpReady::get);
    // this node's own requests are signed as the node; one verifier checks every signed request here
    MessageAuth.Signer nodeSigner = signer(MessageAuth.nodePrincipal(config.node().name()));
    MessageAuth.Verifier verifier = new MessageAuth.Verifier(clusterSecret, localKey);
    MemoryProbe probe = new MemoryProbe(registry, nodeSigner);
    ready.put("memory", probe::reachable);
    intake = new TurnIntake(vertx, config, directory::view, metrics, nodeSigner);
    GatewayContext gw = new GatewayContext(config, directory::view, metrics, registry, ready, probe::writer, nodeSigner,
      verifier, challenger == null ? List::of : challenger::intruders, intake, new DoorSessions());
    BudgetCounters budgets = new BudgetCounters(vertx,
      clusterManager == null ? null : clusterManager.getHazelcastInstance());
    LedgerVerticle ledger = new LedgerVerticle(config, metrics, config.node().name(), nodeSigner, verifier, budgets);
    TokenCounters counters = new TokenCounters(config);

    SharedMemoryVerticle memory = config.memory().writer() ? memoryVerticle(metrics) : null;
    if (memory != null && clusterManager != null && config.memory().replicas() > 1) {
      // a copy of replicated memory is ready once it is in sync: a rolling restart then never takes
      // the next copy away while this one still catches up
      ready.put("memory-copy", memory::inSync);
    }
    if (clusterManager != null && config.memory().replicas() > 1) {
      // down while writes are held: the writer cannot reach enough in-sync copies (or there is none)
      ready.put("memory-writes", probe::writesOk);
    }

    // the challenger first, so a node that joins answers the others' challenges at once; then the
    // directory, so a node with a taken name stops before it serves anything
    return (challenger == null ? Future.succeededFuture() : vertx.deployVerticle(challenger))
      .compose(id -> watchMembership())
      .compose(v -> vertx.deployVerticle(directory))
      .compose(id -> checkUniqueName())
      .compose(id -> memory != null ? vertx.deployVerticle(memory)
        : Future.succeededFuture("no memory writer on this node"))
      .compose(id -> vertx.deployVerticle(probe))
      .compose(id -> vertx.deployVerticle(ledger))
      .compose(id -> vertx.deployVerticle(new GovernorVerticle(config, metrics, secrets,
        clusterManager == null ? null : clusterManager.getHazelcastInstance(), budgets, counters, verifier, nodeSigner)))
      .compose(id -> vertx.deployVerticle(new McpVerticle(config, verifier, metrics, System.getenv())))
      .compose(id -> config.channels().isEmpty() ? Future.succeededFuture("no channels")
        : vertx.deployVerticle(new ChannelsVerticle(config, intake.channels(),
          v -> new MemoryClient(v, signer(MemoryPolicy.ADMIN), 15_000), metrics, System.getenv())))
      .compose(id -> vertx.deployVerticle(new DelegationVerticle(gw)))
      .compose(id -> {
        AgentPlacer placer = new AgentPlacer(config, directory::view, metrics, this::signer, verifier, counters);
        for (AgentSpec spec : local) {
          Gauge.builder("agenthub_queue_depth", placer, p -> p.queueDepth(spec.id())).tag("agent", spec.id())
            .description("Turns waiting or running in this node's instances").register(registry);
        }
        return vertx.deployVerticle(placer).onSuccess(placerDeployments::add);
      })
      .compose(v -> {
        agentsReady.set(true);
        // one gateway per core: the HTTP server is shared between them by Vert.x
        int instances = Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors()));
        return vertx.deployVerticle(() -> new GatewayVerticle(gw, httpPort), new DeploymentOptions().setInstances(instances))
          .compose(id -> {
            gatewayDeployments.add(id);
            // the event-bus door: applications in the cluster reach every agent through any node
            return vertx.deployVerticle(() -> new EventBusDoor(gw), new DeploymentOptions().setInstances(instances));
          })
          .compose(id -> {
            gatewayDeployments.add(id);
            // the door of applications outside the cluster, once this node's doors answer behind it
            return config.node().bridge().on()
              ? vertx.deployVerticle(() -> new BridgeDoor(gw), new DeploymentOptions().setInstances(instances))
              : Future.succeededFuture(null);
          });
      })
      .map(id -> {
        bridgeDeployment = id;
        httpReady.set(true);
        LOG.info("node " + config.node().name() + " serving " + url()
          + (config.node().bridge().on() ? ", bridge " + config.node().bridge().address() : "") + " (cluster: "
          + (clusterManager == null ? "off" : config.cluster().name() + " via " + config.cluster().host()) + ", agents: "
          + String.join(", ", local.stream().map(AgentSpec::id).toList()) + ")");
        return null;
      });
  }

  /**
   * Looks every few seconds whether this node is still in its cluster (its Hazelcast running, no
   * foreign member answering at a configured address while it is alone), off the event loop.
   */
  private Future<Void> watchMembership() {
    if (membership == null) {
      return Future.succeededFuture();
    }
    membershipTimer = vertx.setPeriodic(MEMBERSHIP_CHECK_MS, id -> {
      vertx.executeBlocking(() -> membership.check(System.currentTimeMillis()), false);
    });
    return vertx.executeBlocking(() -> membership.check(System.currentTimeMillis()), false).mapEmpty();
  }

  /**
   * Why this node is not a sound member of its cluster (readiness check {@code cluster}): out of it,
   * or an intruder in it; null when it is sound or runs alone.
   */
  private String clusterTrouble(MemberChallenger challenger) {
    if (clusterManager == null) {
      return null;
    }
    if (!clusterManager.isActive()) {
      return "this node has left its cluster";
    }
    String out = membership.trouble();
    return out != null ? out : challenger.trouble();
  }

  private SharedMemoryVerticle memoryVerticle(HubMetrics metrics) {
    HubConfig.Memory m = config.memory();
    MarkdownStore.Options options = new MarkdownStore.Options(m.fsync(), m.maxEntryBytes(), m.maxFileBytes(),
      MarkdownStore.Options.JOURNAL_SEGMENT_BYTES, m.transcriptMaxBytes());
    Map<String, MemoryPolicy.Access> access = new LinkedHashMap<>();
    config.agents().forEach(a -> access.put(a.id(), new MemoryPolicy.Access(a.memoryRead(), a.memoryWrite())));
    SharedMemoryVerticle.Listener listener = new SharedMemoryVerticle.Listener() {
      @Override
      public void refused(String agent, String op) {
        metrics.refused("identity".equals(op) ? "identity" : "memory_access");
        metrics.audit("memory_refused", new JsonObject().put("agent", agent).put("op", op));
      }

      @Override
      public void wrote(long nanos) {
        metrics.memoryWrite(nanos);
      }
    };
    return new SharedMemoryVerticle(Path.of(m.dir()), options, new MemoryPolicy(access), config.node().name(),
      clusterManager != null, listener, clusterSecret, clusterManager == null ? 1 : m.replicas(), localKey);
  }

  private Future<Void> checkUniqueName() {
    String name = config.node().name();
    long same = directory.view().nodes().stream().filter(n -> n.name().equals(name)).count();
    if (same > 1) {
      return Future.failedFuture(new IllegalStateException("node name '" + name
        + "' is already used by a live node of cluster '" + config.cluster().name() + "'; give each node its own --node"));
    }
    return Future.succeededFuture();
  }

  /** Stops serving (requests in flight are answered), leaves the cluster, closes Vert.x. Idempotent. */
  public Future<Void> close() {
    if (!closed.compareAndSet(false, true)) {
      return Future.succeededFuture();
    }
    // in order: stop taking requests, let the agents finish their turns (they still need the governor,
    // the ledger and memory), then leave the cluster
    if (membershipTimer >= 0) {
      vertx.cancelTimer(membershipTimer);
    }
    // the bridge first: its applications fail over to another node's bridge while this node's doors
    // still answer what they took
    Future<Void> bridge = bridgeDeployment == null ? Future.succeededFuture() : vertx.undeploy(bridgeDeployment);
    Promise<Void> closed = Promise.promise();
    bridge.transform(ignored -> {
      List<Future<Void>> gateways = new ArrayList<>();
      gatewayDeployments.forEach(id -> gateways.add(vertx.undeploy(id)));
      return Future.join(gateways);
    }).transform(ignored -> {
      if (intake != null) {
        intake.close();
      }
      List<Future<Void>> agents = new ArrayList<>();
      placerDeployments.forEach(id -> agents.add(vertx.undeploy(id)));
      return Future.join(agents);
    }).onComplete(ignored -> closeVertx(vertx, registry).onComplete(ar -> {
      if (audit != null) {
        audit.close();
      }
      tracing.close();
      closed.handle(ar);
    }));
    return closed.future();
  }

  /**
   * Closes Vert.x from a thread of its own: a close started on one of its event loops would try to
   * report back to that loop after it has stopped, and the caller would never hear of it.
   */
  private static Future<Void> closeVertx(Vertx vertx, PrometheusMeterRegistry registry) {
    Promise<Void> done = Promise.promise();
    Thread closer = new Thread(() -> {
      try {
        vertx.close().await(2, TimeUnit.MINUTES);
        done.complete();
      } catch (Exception e) {
        done.fail(e);
      } finally {
        registry.close();
      }
    }, "agenthub-close");
    closer.setDaemon(true);
    closer.start();
    return done.future();
  }

  private static int freePort(String host) {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName(host))) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException("no free port on " + host, e);
    }
  }
}
