package dev.agenthub.hub.gateway;

import dev.agenthub.testing.Fixtures;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.NetSocket;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A raw connection to a node's bridge, as an attacker's own program (or a careless client) would
 * hold one: bytes or frames out, the frames that come back in a queue, whether the node closed it.
 */
class BridgeSocket {

  static final Duration WAIT = Duration.ofSeconds(60);

  final LinkedBlockingQueue<JsonObject> frames = new LinkedBlockingQueue<>();
  final AtomicBoolean closed = new AtomicBoolean();
  final NetSocket socket;
  private Buffer pending = Buffer.buffer();

  BridgeSocket(Vertx app, NetClientOptions options, int port) throws Exception {
    socket = app.createNetClient(options).connect(port, "127.0.0.1").await(1, TimeUnit.MINUTES);
    socket.handler(this::bytes);
    socket.closeHandler(v -> closed.set(true));
  }

  private synchronized void bytes(Buffer b) {
    pending.appendBuffer(b);
    while (pending.length() >= 4 && pending.length() >= 4 + pending.getInt(0)) {
      int length = pending.getInt(0);
      frames.add(new JsonObject(pending.getString(4, 4 + length)));
      pending = pending.getBuffer(4 + length, pending.length());
    }
  }

  /** Sends {@code raw} as it is, or behind its length as a frame's prefix. */
  void bytes(Buffer raw, boolean prefixed) throws Exception {
    Buffer out = prefixed ? Buffer.buffer().appendInt(raw.length()).appendBuffer(raw) : raw;
    socket.write(out).await(1, TimeUnit.MINUTES);
  }

  void write(JsonObject frame) throws Exception {
    bytes(Buffer.buffer(frame.encode().getBytes(StandardCharsets.UTF_8)), true);
  }

  JsonObject next() throws InterruptedException {
    JsonObject frame = frames.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
    assertThat(frame).as("a frame from the bridge").isNotNull();
    return frame;
  }

  /** The next frame addressed to {@code address} (pongs and unaddressed err frames skipped). */
  JsonObject nextTo(String address) throws InterruptedException {
    while (true) {
      JsonObject frame = next();
      if (address.equals(frame.getString("address"))) {
        return frame;
      }
    }
  }

  void pingPong() throws Exception {
    write(new JsonObject().put("type", "ping"));
    assertThat(next().getString("type")).isEqualTo("pong");
  }

  void awaitClosed(String what) throws InterruptedException {
    Fixtures.await(what, WAIT, closed::get);
  }
}
