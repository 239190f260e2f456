package dev.agenthub.hub.gateway;

import dev.agenthub.channels.ChannelIntake;
import dev.agenthub.config.HubConfig;
import dev.agenthub.governor.TokenBucket;
import dev.agenthub.hub.cluster.ClusterView;
import dev.agenthub.hub.metrics.HubMetrics;
import dev.agenthub.protocol.Failure;
import dev.agenthub.protocol.MessageAuth;
import dev.agenthub.protocol.Priority;
import dev.agenthub.protocol.Turn;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;

import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The node's one intake of turns, whatever door they come through (HTTP, the OpenAI-compatible
 * API, the MCP door, the event bus and its bridge, delegation, the channels): who calls
 * (the token, its right to the agent, the client's request rate), the turn built from what they
 * sent, and the node's one {@link TurnDispatcher} that sends it to the session's owner. A door
 * parses its own wire format and answers in it; everything between is here, once.
 */
public final class TurnIntake {

  private final HubConfig config;
  private final HubMetrics metrics;
  private final ClientAuth auth;
  private final TurnDispatcher dispatcher;
  // a bucket per authenticated client (their number is the config's), and per address for requests
  // that prove no client. Addresses are bounded (least recently seen leave first), so a flood of
  // them costs memory once and resets no client's limit.
  private final ConcurrentHashMap<String, TokenBucket> clients = new ConcurrentHashMap<>();
  private final Cache<String, TokenBucket> addresses = Caffeine.newBuilder().maximumSize(100_000)
    .expireAfterAccess(Duration.ofMinutes(10)).build();
  private final Vertx vertx;
  private final long orphanTimer;
  private final PendingApprovals approvals;
  private final long approvalTimer;

  /**
   * @param signer signs every turn to an instance as this node
   */
  public TurnIntake(Vertx vertx, HubConfig config, Supplier<ClusterView> view, HubMetrics metrics,
                    MessageAuth.Signer signer) {
    this.vertx = vertx;
    this.config = config;
    this.metrics = metrics;
    this.auth = new ClientAuth(config.clients());
    this.dispatcher = new TurnDispatcher(vertx, view, config.node().http().requestTimeoutMs(), signer);
    this.orphanTimer = vertx.setPeriodic(250, id -> dispatcher.resendOrphans());
    this.approvals = new PendingApprovals(vertx, this);
    this.approvalTimer = vertx.setPeriodic(PendingApprovals.SWEEP_MS, id -> approvals.sweep());
  }

  /** The tool calls that wait for a person, and their decisions. */
  PendingApprovals approvals() {
    return approvals;
  }

  /** The clients of the config and what each may reach. */
  ClientAuth auth() {
    return auth;
  }

  /**
   * Who calls {@code agent}: the agent must exist and the token may use it. Returns the client's id
   * (null on a hub without clients).
   */
  String admit(String authorization, String agent) {
    return admit(authorization, agent, () -> new Failure(Failure.Kind.NOT_FOUND, "unknown agent '" + agent + "'"));
  }

  /** {@link #admit(String, String)} with the door's own answer to an unknown agent. */
  String admit(String authorization, String agent, Supplier<Failure> unknown) {
    if (config.agent(agent).isEmpty()) {
      auth.checkAgent(authorization, null); // an unknown token learns nothing about the agents
      metrics.refused("unknown_agent");
      throw unknown.get();
    }
    auth.checkAgent(authorization, agent);
    return auth.clientId(authorization);
  }

  /**
   * A door that speaks for a configured client itself (a channel runs as its {@code client}): the agent
   * must exist and that client may use it (on a hub without clients, any agent).
   */
  void admitClient(String clientId, String agent) {
    if (config.agent(agent).isEmpty()) {
      throw new Failure(Failure.Kind.NOT_FOUND, "unknown agent '" + agent + "'");
    }
    if (clientId == null) {
      return;
    }
    HubConfig.Client client = config.clients().stream().filter(c -> c.id().equals(clientId)).findFirst()
      .orElseThrow(() -> new Failure(Failure.Kind.FORBIDDEN, "unknown client '" + clientId + "'"));
    if (!client.allAgents() && !client.agents().contains(agent)) {
      metrics.refused("agent_not_allowed");
      throw new Failure(Failure.Kind.FORBIDDEN, "client '" + clientId + "' may not use agent '" + agent + "'");
    }
  }

  /** The channels' way in: a turn as {@code client} on {@code agent}, admitted, rate-limited and dispatched. */
  public ChannelIntake channels() {
    return (client, agent, request) -> {
      long started = System.nanoTime();
      try {
        admitClient(client, agent);
        checkRate(client, null);
      } catch (Failure f) {
        metrics.message(agent, Replies.outcome(f), System.nanoTime() - started);
        return Future.failedFuture(f);
      }
      return dispatch(agent, request).onComplete(ar -> metrics.message(agent, ar.succeeded() ? "ok"
        : Replies.outcome(ar.cause()), System.nanoTime() - started));
    };
  }

  /**
   * Takes one request from the bucket of {@code clientId} (else of {@code address}): 429 when it is
   * empty. Every door of the node shares the buckets.
   */
  void checkRate(String clientId, String address) {
    int rps = config.node().http().clientRps();
    if (rps <= 0) {
      return;
    }
    Function<String, TokenBucket> make = k -> new TokenBucket(2.0 * rps, rps, System.nanoTime());
    TokenBucket bucket = clientId != null ? clients.computeIfAbsent(clientId, make)
      : addresses.get(address == null ? "?" : address, make);
    long now = System.nanoTime();
    if (!bucket.tryTake(1, now)) {
      metrics.refused("client_rate");
      long wait = Math.max(1, (bucket.nanosUntil(1, now) + 999_999_999) / 1_000_000_000);
      throw new Failure(Failure.Kind.RATE_LIMITED, "too many requests from this client (limit " + rps + "/s)", wait);
    }
  }

  /** The turn a native message asks for, on behalf of {@code client}. */
  static Turn.Request turn(Requests.AgentMessage message, String client) {
    return Turn.Request.of(message.session(), message.text()).idempotencyKey(message.idempotencyKey())
      .priority(message.priority()).client(client).build();
  }

  /** Sends the turn to its session's owner within the node's request timeout. */
  Future<JsonObject> dispatch(String agent, Turn.Request request) {
    return dispatcher.dispatch(agent, request);
  }

  /** Sends the turn to its session's owner; a batch turn waits up to {@link MessageRoutes#BATCH_TIMEOUT_MS}. */
  Future<JsonObject> dispatch(String agent, Turn.Request request, long timeoutMs) {
    return dispatcher.dispatch(agent, request, timeoutMs);
  }

  /** The timeout of a turn of this priority. */
  long timeoutMs(Priority priority) {
    return priority == Priority.BATCH ? MessageRoutes.BATCH_TIMEOUT_MS : config.node().http().requestTimeoutMs();
  }

  /** Cancels a turn on its way (its client went away). */
  void cancel(Turn.Request request) {
    dispatcher.cancel(request);
  }

  /** Stops looking for turns to send again. */
  public void close() {
    vertx.cancelTimer(orphanTimer);
    vertx.cancelTimer(approvalTimer);
  }
}
