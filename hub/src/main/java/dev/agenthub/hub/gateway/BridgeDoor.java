package dev.agenthub.hub.gateway;

import dev.agenthub.config.HubConfig;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.ClientAuth;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;

import java.util.concurrent.TimeUnit;

/**
 * The door of users' applications ({@code node.bridge}): the event-bus API over TCP, in the frames of
 * the Vert.x TCP event-bus bridge, so that an application reaches agents without joining the
 * cluster. Listens on the configured host only, with TLS (and client certificates when a CA is
 * given) when configured. Each connection is a {@link BridgeConnection}; {@link BridgeGuard} decides
 * what passes; this node's {@link EventBusDoor} answers, with the same rules as HTTP.
 */
public final class BridgeDoor extends VerticleBase {

  /**
   * The shortest idle timeout a bridge connection gets: clients ping every 20 s, so an HTTP
   * {@code idle-timeout} below two of their pings would cut connections that are alive.
   */
  static final long MIN_IDLE_MS = 40_000;

  private final GatewayContext gw;
  private NetServer server;

  public BridgeDoor(GatewayContext gw) {
    this.gw = gw;
  }

  @Override
  public Future<?> start() {
    HubConfig.Bridge config = gw.config().node().bridge();
    HubConfig.Http http = gw.config().node().http();
    BridgeGuard guard = BridgeGuard.of(gw.config());
    BridgeConnection.Limits limits = BridgeConnection.Limits.of(http);
    NetServerOptions net = new NetServerOptions().setHost(config.host()).setPort(config.port());
    if (http.idleTimeoutMs() > 0) {
      net.setIdleTimeout((int) Math.max(MIN_IDLE_MS, http.idleTimeoutMs())).setIdleTimeoutUnit(TimeUnit.MILLISECONDS);
    }
    if (config.tls() != null) {
      net.setSsl(true).setKeyCertOptions(new PemKeyCertOptions().setCertPath(config.tls().cert())
        .setKeyPath(config.tls().key()));
      if (config.tls().ca() != null) {
        net.setClientAuth(ClientAuth.REQUIRED).setTrustOptions(new PemTrustOptions().addCertPath(config.tls().ca()));
      }
    }
    server = vertx.createNetServer(net)
      .connectHandler(socket -> new BridgeConnection(vertx, socket, guard, limits, gw).start());
    return server.listen();
  }

  @Override
  public Future<?> stop() {
    // closes the connections too, whose stream consumers go with them
    return server == null ? Future.succeededFuture() : server.close();
  }
}
