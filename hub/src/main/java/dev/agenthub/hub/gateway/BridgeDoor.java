package dev.agenthub.hub.gateway;

import dev.agenthub.hub.config.HubConfig;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.ClientAuth;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.core.net.SocketAddress;
import io.vertx.ext.bridge.BridgeEventType;
import io.vertx.ext.bridge.BridgeOptions;
import io.vertx.ext.bridge.PermittedOptions;
import io.vertx.ext.eventbus.bridge.tcp.BridgeEvent;
import io.vertx.ext.eventbus.bridge.tcp.TcpEventBusBridge;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The door of users' applications ({@code node.bridge}): the event-bus API over the Vert.x TCP
 * event-bus bridge, so that an application reaches agents without joining the cluster. Listens on
 * the configured host only, with TLS (and client certificates when a CA is given) when configured.
 * {@link BridgeGuard} decides what passes; this node's {@link EventBusDoor} answers, with the same
 * rules as HTTP.
 */
public final class BridgeDoor extends VerticleBase {

  /** A connection with nothing read or written for this long is closed (clients ping every 20 s). */
  static final int IDLE_SECONDS = 90;
  /**
   * Stream addresses one connection may hold: each is a clustered consumer (cluster-wide state), and
   * the bridge itself would let a connection register without bound (and leak one registered twice).
   */
  static final int MAX_STREAMS_PER_CONNECTION = 8;

  private final GatewayContext gw;
  private BridgeGuard guard;
  private TcpEventBusBridge bridge;
  // the stream addresses each open connection registered (touched on this verticle's context only)
  private final Map<NetSocket, Set<String>> streams = new HashMap<>();

  public BridgeDoor(GatewayContext gw) {
    this.gw = gw;
  }

  @Override
  public Future<?> start() {
    HubConfig.Bridge config = gw.config().node().bridge();
    guard = BridgeGuard.of(gw.config());
    // the bridge's own checks, under the guard's: what may come in, and what may go out
    BridgeOptions permitted = new BridgeOptions()
      .addInboundPermitted(new PermittedOptions().setAddressRegex("agenthub\\.agents\\.[A-Za-z0-9_.-]{1,64}"))
      .addOutboundPermitted(new PermittedOptions().setAddressRegex("agenthub\\.stream\\.[0-9a-f]{16}\\.[A-Za-z0-9_-]{1,64}"));
    NetServerOptions net = new NetServerOptions().setHost(config.host()).setPort(config.port())
      .setIdleTimeout(IDLE_SECONDS).setIdleTimeoutUnit(TimeUnit.SECONDS);
    if (config.tls() != null) {
      net.setSsl(true).setKeyCertOptions(new PemKeyCertOptions().setCertPath(config.tls().cert())
        .setKeyPath(config.tls().key()));
      if (config.tls().ca() != null) {
        net.setClientAuth(ClientAuth.REQUIRED).setTrustOptions(new PemTrustOptions().addCertPath(config.tls().ca()));
      }
    }
    bridge = TcpEventBusBridge.create(vertx, permitted, net, this::onEvent);
    return bridge.listen();
  }

  @Override
  public Future<?> stop() {
    return bridge == null ? Future.succeededFuture() : bridge.close();
  }

  private void onEvent(BridgeEvent event) {
    JsonObject frame = event.getRawMessage() == null ? new JsonObject() : event.getRawMessage();
    BridgeGuard.Verdict verdict = guard.check(event.type(), frame, loopback(event.socket()));
    if (verdict.allowed()) {
      verdict = streams(event, frame);
    }
    if (verdict.allowed()) {
      event.complete(true);
      return;
    }
    gw.metrics().refused("bridge");
    gw.metrics().audit("bridge_refused", new JsonObject().put("status", verdict.status())
      .put("type", event.type().name().toLowerCase()).put("address", frame.getValue("address"))
      .put("remote", String.valueOf(event.socket().remoteAddress())).put("reason", verdict.reason()));
    if (verdict.status() == 401 && gw.config().clients().isEmpty()) {
      event.socket().close(); // not from this machine, on a hub that answers only its own
      event.complete(false);
      return;
    }
    if (frame.getValue("replyAddress") instanceof String reply) {
      // the request's own answer, so a client waiting on it fails at once, with the API's error object
      write(event.socket(), new JsonObject().put("type", "err").put("address", reply)
        .put("sourceAddress", frame.getValue("address")).put("failureCode", verdict.status())
        .put("failureType", "RECIPIENT_FAILURE")
        .put("message", new ApiError(verdict.status(), errorType(verdict.status()), verdict.reason()).toJson().encode()));
    }
    event.complete(false); // the bridge answers an err frame of its own: "blocked by bridgeEvent handler"
  }

  /** Keeps count of a connection's stream addresses: each once, at most {@link #MAX_STREAMS_PER_CONNECTION}. */
  private BridgeGuard.Verdict streams(BridgeEvent event, JsonObject frame) {
    if (event.type() != BridgeEventType.REGISTER && event.type() != BridgeEventType.UNREGISTER) {
      return BridgeGuard.Verdict.OK;
    }
    NetSocket socket = event.socket();
    Set<String> mine = streams.computeIfAbsent(socket, s -> {
      s.closeHandler(v -> streams.remove(s));
      return new HashSet<>();
    });
    String address = frame.getString("address");
    if (event.type() == BridgeEventType.UNREGISTER) {
      mine.remove(address);
      return BridgeGuard.Verdict.OK;
    }
    if (mine.contains(address)) {
      return BridgeGuard.Verdict.refuse(409, "this stream address is registered on this connection already");
    }
    if (mine.size() >= MAX_STREAMS_PER_CONNECTION) {
      return BridgeGuard.Verdict.refuse(429, "at most " + MAX_STREAMS_PER_CONNECTION + " stream addresses per "
        + "connection");
    }
    mine.add(address);
    return BridgeGuard.Verdict.OK;
  }

  private static String errorType(int status) {
    return switch (status) {
      case 400 -> "invalid_request_error";
      case 401 -> "authentication_error";
      case 404 -> "not_found";
      default -> "permission_denied";
    };
  }

  private static boolean loopback(NetSocket socket) {
    SocketAddress remote = socket.remoteAddress();
    String host = remote == null ? null : remote.hostAddress();
    return host != null && (host.startsWith("127.") || host.equals("0:0:0:0:0:0:0:1") || host.equals("::1"));
  }

  private static void write(NetSocket socket, JsonObject frame) {
    byte[] bytes = frame.encode().getBytes(StandardCharsets.UTF_8);
    socket.write(Buffer.buffer(bytes.length + 4).appendInt(bytes.length).appendBytes(bytes));
  }
}
