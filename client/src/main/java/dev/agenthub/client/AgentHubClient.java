package dev.agenthub.client;

import dev.agenthub.protocol.EventBusApi;

import com.hazelcast.cluster.Cluster;
import com.hazelcast.cluster.MembershipEvent;
import com.hazelcast.cluster.MembershipListener;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.JsonObject;
import io.vertx.core.spi.cluster.ClusterManager;
import io.vertx.core.streams.ReadStream;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Sends messages to agenthub's agents. The way for applications is a hub node's TCP event-bus bridge
 * ({@link Options#setBridges}: no cluster membership, TLS with {@link Options#setCaFile}, failover to
 * the next bridge); an application trusted like a node (it holds the cluster secret) may instead join
 * the cluster and use its event bus (no bridges given). Each message goes to
 * {@code agenthub.agents.<agent>}; the hub node that takes it routes the session to the instance
 * that owns it, anywhere in the cluster. Failures are {@link AgentHubException}s carrying the HTTP
 * API's status and error object.
 *
 * <pre>{@code
 * AgentHubClient hub = AgentHubClient.create(vertx, new AgentHubClient.Options()
 *   .setBridges(List.of("10.0.0.5:7000", "10.0.0.6:7000")).setToken(token).setCaFile("ca.pem"));
 * hub.send("support", "order-42", "Where is my parcel?").onSuccess(reply -> ...);
 * }</pre>
 */
public final class AgentHubClient {

  /** What every message of this client carries. */
  public static final class Options {
    private String token;
    private long timeoutMs = 120_000;
    private List<String> bridges = List.of();
    private String caFile;
    private String certFile;
    private String keyFile;
    private ClusterManager clusterManager;

    /**
     * The hub nodes' bridges ({@code host:port}, their {@code node.bridge}): the client talks to the
     * first that answers and fails over to the next. Empty (the default): the application's own
     * clustered event bus, for applications that are members of the cluster.
     */
    public Options setBridges(List<String> bridges) {
      for (String bridge : bridges) {
        int colon = bridge.lastIndexOf(':');
        if (colon <= 0 || !bridge.substring(colon + 1).matches("[0-9]{1,5}")) {
          throw new IllegalArgumentException("a bridge is host:port, got '" + bridge + "'");
        }
      }
      this.bridges = List.copyOf(bridges);
      return this;
    }

    /**
     * The CA (PEM file) that signed the bridges' certificates: TLS on, and the bridge's name or
     * address checked against its certificate. Null (the default): plain TCP.
     */
    public Options setCaFile(String caFile) {
      this.caFile = caFile;
      return this;
    }

    /**
     * This application's certificate and key (PEM files), for a bridge that asks for one (its
     * {@code tls.ca} given); with {@link #setCaFile} only.
     */
    public Options setCertificate(String certFile, String keyFile) {
      this.certFile = certFile;
      this.keyFile = keyFile;
      return this;
    }

    /**
     * On the cluster's event bus only: the application's cluster manager (Hazelcast), so that a
     * message in flight when a hub node leaves is sent again at once instead of waiting for its
     * timeout.
     */
    public Options setClusterManager(ClusterManager clusterManager) {
      this.clusterManager = clusterManager;
      return this;
    }

    /** The client token ({@code clients:} in the hub's config); null on a hub without clients. */
    public Options setToken(String token) {
      this.token = token;
      return this;
    }

    /** How long to wait for an answer (default 120 s; batch messages may need far longer). */
    public Options setTimeoutMs(long timeoutMs) {
      this.timeoutMs = timeoutMs;
      return this;
    }
  }

  /** One message: its session and text, and optionally an idempotency key and a priority. */
  public record Request(String session, String text, String idempotencyKey, String priority) {
    public Request(String session, String text) {
      this(session, text, null, null);
    }

    JsonObject toJson() {
      JsonObject json = new JsonObject().put("session", session).put("text", text);
      if (idempotencyKey != null) {
        json.put("idempotency_key", idempotencyKey);
      }
      if (priority != null) {
        json.put("priority", priority);
      }
      return json;
    }
  }

  private final Vertx vertx;
  private final Options options;
  // the deltas of every stream of this client come to one address bound to its token (the hub
  // refuses any other), told apart by their stream id
  private final String streamAddress;
  private final Map<String, DeltaStream> streams = new ConcurrentHashMap<>();
  private final BridgeLink bridge;
  private MessageConsumer<Object> deltas;
  private Future<Void> deltasReady;
  private Runnable stopWatching = () -> { };

  private AgentHubClient(Vertx vertx, Options options) {
    this.vertx = vertx;
    this.options = options;
    this.streamAddress = EventBusApi.streamAddress(options.token, UUID.randomUUID().toString());
    this.bridge = options.bridges.isEmpty() ? null : new BridgeLink(vertx, options.bridges, options.token,
      options.caFile, options.certFile, options.keyFile, streamAddress, (body, headers) -> onDelta(body, headers.getValue(EventBusApi.STREAM_ID),
      headers.getValue(EventBusApi.STREAM_OFFSET)));
  }

  public static AgentHubClient create(Vertx vertx, Options options) {
    return new AgentHubClient(vertx, options);
  }

  /** Sends one message and answers the agent's reply. */
  public Future<Reply> send(String agent, String session, String text) {
    return send(agent, new Request(session, text));
  }

  /**
   * Sends one message. It always carries an idempotency key (a random one unless the request has
   * its own), so the client can send it again safely: when no hub node serves the agent for a moment
   * or the connection to the node that took it fails, and, with Hazelcast, when a hub node leaves the
   * cluster while the message is on its way (it may have died with it): the session's new owner
   * answers, once.
   */
  public Future<Reply> send(String agent, Request request) {
    if (bridge != null) {
      return bridge.request(agent, keyed(request), Map.of(), options.timeoutMs).map(Reply::fromJson);
    }
    return call(agent, keyed(request), delivery()).map(m -> Reply.fromJson(asJson(m.body())));
  }

  private static JsonObject keyed(Request request) {
    JsonObject body = request.toJson();
    if (!body.containsKey("idempotency_key")) {
      body.put("idempotency_key", "client-" + UUID.randomUUID());
    }
    return body;
  }

  private Future<Message<Object>> call(String agent, JsonObject body, DeliveryOptions delivery) {
    InFlight call = new InFlight(agent, body, delivery, System.nanoTime() + options.timeoutMs * 1_000_000);
    watchNodes();
    inFlight.add(call);
    call.attempt();
    return call.promise.future().onComplete(ar -> inFlight.remove(call));
  }

  /** One message until it is answered: each attempt is the same request, the latest one counts. */
  private final class InFlight {
    final String agent;
    final JsonObject body;
    final DeliveryOptions delivery;
    final long deadline;
    final Promise<Message<Object>> promise = Promise.promise();
    int attempt;

    InFlight(String agent, JsonObject body, DeliveryOptions delivery, long deadline) {
      this.agent = agent;
      this.body = body;
      this.delivery = delivery;
      this.deadline = deadline;
    }

    void attempt() {
      long left = (deadline - System.nanoTime()) / 1_000_000;
      if (left <= 0) {
        promise.tryFail(AgentHubException.timedOut(agent));
        return;
      }
      int mine = ++attempt;
      vertx.eventBus().<Object>request(EventBusApi.address(agent), body, new DeliveryOptions(delivery).setSendTimeout(left))
        .onComplete(ar -> {
          if (ar.succeeded()) {
            promise.tryComplete(ar.result());
            return;
          }
          if (mine != attempt || promise.future().isComplete()) {
            return; // a newer attempt is on its way
          }
          boolean again = ar.cause() instanceof ReplyException re
            && (re.failureType() == ReplyFailure.NO_HANDLERS
            || re.failureType() == ReplyFailure.ERROR);
          if (again && (deadline - System.nanoTime()) / 1_000_000 > RETRY_MS) {
            vertx.setTimer(RETRY_MS, id -> attempt());
          } else {
            promise.tryFail(AgentHubException.of(ar.cause(), agent));
          }
        });
    }
  }

  private static final long RETRY_MS = 500;
  private static final long[] RESEND_AFTER_NODE_LEFT_MS = {1_000, 5_000};
  private final Set<InFlight> inFlight = ConcurrentHashMap.newKeySet();
  private boolean watching;

  /** With Hazelcast, a hub node leaving sends the messages in flight again (see {@link #send}). */
  private synchronized void watchNodes() {
    if (watching) {
      return;
    }
    watching = true;
    if (options.clusterManager != null && HazelcastWatch.available()) {
      stopWatching = HazelcastWatch.onNodeLeft(options.clusterManager, () -> {
        // the messages that may have died with the node: sent again once the event bus has dropped
        // its registrations (else a resend could go to the dead node too), and once more a little
        // later; the first answer counts, and the idempotency key makes the copies one turn
        List<InFlight> exposed = new ArrayList<>(inFlight);
        for (long delay : RESEND_AFTER_NODE_LEFT_MS) {
          vertx.setTimer(delay, id -> exposed.forEach(call -> {
            if (!call.promise.future().isComplete()) {
              call.attempt();
            }
          }));
        }
      });
    }
  }

  /** Kept apart so that the client loads without Hazelcast on the classpath. */
  private static final class HazelcastWatch {
    static boolean available() {
      try {
        Class.forName("io.vertx.spi.cluster.hazelcast.HazelcastClusterManager");
        return true;
      } catch (ClassNotFoundException e) {
        return false;
      }
    }

    /** Watches; the answer stops watching. */
    static Runnable onNodeLeft(ClusterManager manager, Runnable action) {
      if (manager instanceof HazelcastClusterManager hz) {
        Cluster cluster = hz.getHazelcastInstance().getCluster();
        UUID id = cluster.addMembershipListener(new MembershipListener() {
          @Override
          public void memberAdded(MembershipEvent event) {
          }

          @Override
          public void memberRemoved(MembershipEvent event) {
            if (!event.getMember().isLiteMember()) {
              action.run();
            }
          }
        });
        return () -> {
          try {
            cluster.removeMembershipListener(id);
          } catch (RuntimeException e) {
            // the application has left its cluster already: nothing listens any more
          }
        };
      }
      return () -> { };
    }
  }

  /**
   * Sends one message and streams the answer: the stream yields the answer's pieces as the model
   * writes them, then ends; {@link DeltaStream#reply()} completes with the whole reply (or fails)
   * once the stream is over. The pieces put together are the reply's text.
   */
  public DeltaStream stream(String agent, Request request) {
    String id = UUID.randomUUID().toString();
    DeltaStream stream = new DeltaStream(vertx);
    streams.put(id, stream);
    Future<JsonObject> reply = bridge != null
      ? bridge.request(agent, keyed(request), Map.of(EventBusApi.STREAM_TO, streamAddress, EventBusApi.STREAM_ID, id),
        options.timeoutMs)
      : deltas().compose(v -> call(agent, keyed(request),
        delivery().addHeader(EventBusApi.STREAM_TO, streamAddress).addHeader(EventBusApi.STREAM_ID, id)))
      .map(m -> asJson(m.body()));
    reply.onComplete(ar -> {
      streams.remove(id);
      if (ar.succeeded()) {
        stream.finish(Reply.fromJson(ar.result()), null);
      } else {
        stream.finish(null, AgentHubException.of(ar.cause(), agent));
      }
    });
    return stream;
  }

  /**
   * Closes the client: on a bridge its connection (messages not yet answered fail), on the event bus
   * the stream address and the watch on the cluster's members (messages already sent are still
   * answered).
   */
  public Future<Void> close() {
    stopWatching.run();
    List<Future<Void>> closing = new ArrayList<>();
    if (bridge != null) {
      closing.add(bridge.close());
    }
    if (deltas != null) {
      closing.add(deltas.unregister());
    }
    return Future.join(closing).mapEmpty();
  }

  private synchronized Future<Void> deltas() {
    if (deltasReady == null) {
      deltas = vertx.eventBus().consumer(streamAddress, this::onDelta);
      deltasReady = deltas.completion();
    }
    return deltasReady;
  }

  private void onDelta(Message<Object> m) {
    onDelta(m.body(), m.headers().get(EventBusApi.STREAM_ID), m.headers().get(EventBusApi.STREAM_OFFSET));
  }

  private void onDelta(Object body, Object streamId, Object offsetHeader) {
    DeltaStream stream = streams.get(String.valueOf(streamId));
    if (stream != null && body instanceof JsonObject json && json.getValue("text") instanceof String text) {
      int offset = -1;
      try {
        offset = offsetHeader == null ? -1 : Integer.parseInt(String.valueOf(offsetHeader));
      } catch (NumberFormatException ignored) {
        // no usable offset: take the piece as it comes
      }
      stream.push(offset, text);
    }
  }

  private DeliveryOptions delivery() {
    DeliveryOptions delivery = new DeliveryOptions().setSendTimeout(options.timeoutMs);
    if (options.token != null) {
      delivery.addHeader(EventBusApi.AUTHORIZATION, "Bearer " + options.token);
    }
    return delivery;
  }

  private static JsonObject asJson(Object body) {
    if (body instanceof JsonObject json) {
      return json;
    }
    return new JsonObject(String.valueOf(body));
  }

  /**
   * The pieces of one streamed answer, as a Vert.x {@link ReadStream} (pause, resume and fetch are
   * honoured: pieces wait in memory meanwhile), and the reply that ends it.
   */
  public static final class DeltaStream implements ReadStream<String> {
    private final Context context;
    private final Promise<Reply> reply = Promise.promise();
    private final ArrayDeque<String> queued = new ArrayDeque<>();
    private Handler<String> handler;
    private Handler<Throwable> exceptionHandler;
    private Handler<Void> endHandler;
    private long demand = Long.MAX_VALUE;
    private int received;
    private boolean finished;
    private boolean ended;

    DeltaStream(Vertx vertx) {
      this.context = vertx.getOrCreateContext();
    }

    /** The whole reply once the answer is complete, or the failure ({@link AgentHubException}). */
    public Future<Reply> reply() {
      return reply.future();
    }

    void push(int offset, String text) {
      context.runOnContext(v -> {
        if (finished) {
          return;
        }
        String piece = text;
        if (offset >= 0) {
          if (offset > received || offset + text.length() <= received) {
            return; // a gap (not expected on one connection) or text already received (a resend)
          }
          piece = text.substring(received - offset);
        }
        received += piece.length();
        queued.add(piece);
        drain();
      });
    }

    void finish(Reply r, Throwable err) {
      context.runOnContext(v -> {
        finished = true;
        // deltas that never came (the stream address not yet known on the answering node, a node that
        // left) are filled in from the final reply: put together, the pieces are always its text
        if (err == null && r != null && r.text() != null && received < r.text().length()) {
          queued.add(r.text().substring(received));
          received = r.text().length();
        }
        if (err != null) {
          reply.tryFail(err);
        } else {
          reply.tryComplete(r);
        }
        drain();
      });
    }

    private void drain() {
      while (demand > 0 && !queued.isEmpty() && handler != null) {
        if (demand != Long.MAX_VALUE) {
          demand--;
        }
        handler.handle(queued.poll());
      }
      if (finished && queued.isEmpty() && !ended) {
        ended = true;
        if (reply.future().failed()) {
          if (exceptionHandler != null) {
            exceptionHandler.handle(reply.future().cause());
          }
        } else if (endHandler != null) {
          endHandler.handle(null);
        }
      }
    }

    @Override
    public DeltaStream exceptionHandler(Handler<Throwable> handler) {
      this.exceptionHandler = handler;
      return this;
    }

    @Override
    public DeltaStream handler(Handler<String> handler) {
      this.handler = handler;
      context.runOnContext(v -> drain());
      return this;
    }

    @Override
    public DeltaStream pause() {
      demand = 0;
      return this;
    }

    @Override
    public DeltaStream resume() {
      return fetch(Long.MAX_VALUE);
    }

    @Override
    public DeltaStream fetch(long amount) {
      demand = amount == Long.MAX_VALUE || demand + amount < 0 ? Long.MAX_VALUE : demand + amount;
      context.runOnContext(v -> drain());
      return this;
    }

    @Override
    public DeltaStream endHandler(Handler<Void> endHandler) {
      this.endHandler = endHandler;
      return this;
    }
  }
}
