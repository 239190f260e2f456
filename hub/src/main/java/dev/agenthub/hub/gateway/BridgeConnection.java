package dev.agenthub.hub.gateway;

import dev.agenthub.config.HubConfig;
import dev.agenthub.protocol.Failure;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.SocketAddress;
import io.vertx.core.parsetools.RecordParser;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Logger;

/**
 * One application's connection to the bridge: reads frames, lets {@link BridgeGuard} judge each, and
 * carries out what passes (a request to this node's door, a stream address registered, a pong).
 * Touched only on the context of the {@link BridgeDoor} that accepted it.
 *
 * <p>The frame's length is judged before its body is read: one over {@link Limits#maxFrameBytes} is
 * answered 413 and the connection closed. A connection must send one whole, valid frame within
 * {@link Limits#firstFrameMs} (the HTTP header timeout), and a frame once begun must arrive whole
 * within {@link Limits#frameMs} (the HTTP body timeout), or it is closed. A frame that is not a JSON
 * object, or of an unknown type, is answered 400 and the connection stays usable: the length prefix
 * keeps the stream in step, so one bad frame spoils nothing after it.
 */
final class BridgeConnection {

  private static final Logger LOG = Logger.getLogger(BridgeConnection.class.getName());
  /** At most one warning a minute about bad frames, whoever sends them (a flood must not flood the log). */
  private static final long WARN_EVERY_NANOS = TimeUnit.MINUTES.toNanos(1);
  private static final AtomicLong lastWarn = new AtomicLong(System.nanoTime() - WARN_EVERY_NANOS);

  /**
   * Stream addresses one connection may hold: each is a clustered consumer (cluster-wide state), so a
   * connection may not register without bound.
   */
  static final int MAX_STREAMS_PER_CONNECTION = 8;

  /**
   * What a connection may cost.
   *
   * @param maxFrameBytes the largest frame it may announce
   * @param firstFrameMs  its first valid frame is due within this (0 = no deadline)
   * @param frameMs       a frame begun is due whole within this (0 = no deadline)
   */
  record Limits(int maxFrameBytes, long firstFrameMs, long frameMs) {
    static Limits of(HubConfig.Http http) {
      return new Limits(BridgeFrames.maxFrameBytes(http.maxBodyBytes()), http.headerTimeoutMs(), http.bodyTimeoutMs());
    }
  }

  private final Vertx vertx;
  private final NetSocket socket;
  private final BridgeGuard guard;
  private final Limits limits;
  private final GatewayContext gw;
  private final boolean loopback;
  private final RecordParser parser = RecordParser.newFixed(BridgeFrames.HEADER_BYTES);
  // this connection's stream addresses, each a consumer whose messages go out as frames
  private final Map<String, MessageConsumer<Object>> streams = new LinkedHashMap<>();
  private int bodyBytes = -1; // the length of the frame being read, -1 while reading a length
  private long firstFrameTimer = -1;
  private long frameTimer = -1;
  private boolean closing;

  BridgeConnection(Vertx vertx, NetSocket socket, BridgeGuard guard, Limits limits, GatewayContext gw) {
    this.vertx = vertx;
    this.socket = socket;
    this.guard = guard;
    this.limits = limits;
    this.gw = gw;
    this.loopback = loopback(socket.remoteAddress());
  }

  void start() {
    socket.closeHandler(v -> closed());
    // a reset or a failed TLS handshake: nothing to answer, nothing worth a stack trace
    socket.exceptionHandler(err -> socket.close());
    if (!guard.answers(loopback)) {
      gw.metrics().refused("bridge");
      socket.close(); // not from this machine, on a hub that answers only its own: not one byte read
      return;
    }
    parser.handler(this::record);
    socket.handler(parser);
    if (limits.firstFrameMs() > 0) {
      firstFrameTimer = vertx.setTimer(limits.firstFrameMs(), id -> {
        firstFrameTimer = -1;
        late("no complete frame within " + limits.firstFrameMs() + " ms of connecting");
      });
    }
  }

  /** A length, or the body it announced. */
  private void record(Buffer record) {
    if (closing) {
      return;
    }
    if (bodyBytes < 0) {
      int length = record.getInt(0);
      if (length < 0 || length > limits.maxFrameBytes()) {
        tooLarge(length);
      } else if (length == 0) {
        invalid("an empty frame");
      } else {
        bodyBytes = length;
        parser.fixedSizeMode(length);
        if (limits.frameMs() > 0) {
          frameTimer = vertx.setTimer(limits.frameMs(), id -> {
            frameTimer = -1;
            late("a frame did not arrive whole within " + limits.frameMs() + " ms");
          });
        }
      }
      return;
    }
    bodyBytes = -1;
    parser.fixedSizeMode(BridgeFrames.HEADER_BYTES);
    vertx.cancelTimer(frameTimer);
    frameTimer = -1;
    try {
      frame(record);
    } catch (RuntimeException e) {
      invalid("a frame this bridge cannot read (" + e.getClass().getSimpleName() + ")");
    }
  }

  private void frame(Buffer bytes) {
    JsonObject frame = BridgeFrames.decode(bytes);
    if (frame == null) {
      invalid("a frame that is not a JSON object");
      return;
    }
    BridgeFrames.Type type = BridgeFrames.Type.of(frame.getValue("type"));
    if (type == null) {
      invalid("a frame of unknown type '" + frame.getValue("type") + "' (send, register, unregister or ping)");
      return;
    }
    vertx.cancelTimer(firstFrameTimer);
    firstFrameTimer = -1;
    BridgeGuard.Verdict verdict = guard.check(type, frame, loopback);
    if (verdict.allowed()) {
      verdict = streamsLeft(type, frame.getString("address"));
    }
    if (!verdict.allowed()) {
      refused(type, frame, verdict);
      return;
    }
    switch (type) {
      case PING -> write(BridgeFrames.pong());
      case SEND -> request(frame);
      case REGISTER -> register(frame.getString("address"));
      case UNREGISTER -> unregister(frame.getString("address"));
      case PUBLISH -> throw new IllegalStateException("the guard lets no publish through");
    }
  }

  /** Each stream address once per connection, at most {@link #MAX_STREAMS_PER_CONNECTION}. */
  private BridgeGuard.Verdict streamsLeft(BridgeFrames.Type type, String address) {
    if (type != BridgeFrames.Type.REGISTER) {
      return BridgeGuard.Verdict.OK;
    }
    if (streams.containsKey(address)) {
      return BridgeGuard.Verdict.refuse(409, "this stream address is registered on this connection already");
    }
    if (streams.size() >= MAX_STREAMS_PER_CONNECTION) {
      return BridgeGuard.Verdict.refuse(429, "at most " + MAX_STREAMS_PER_CONNECTION + " stream addresses per "
        + "connection");
    }
    return BridgeGuard.Verdict.OK;
  }

  /** To this node's door (the guard made it {@code localOnly}); its reply or failure goes back to the reply address. */
  private void request(JsonObject frame) {
    String address = frame.getString("address");
    String reply = frame.getString("replyAddress");
    vertx.eventBus().request(address, frame.getValue("body"), BridgeFrames.delivery(frame.getJsonObject("headers")))
      .onComplete(ar -> {
        if (ar.succeeded()) {
          write(BridgeFrames.message(reply, ar.result().headers(), ar.result().body(), true));
        } else if (ar.cause() instanceof ReplyException e) {
          write(BridgeFrames.err(reply, address, e.failureCode(), e.failureType().name(), e.getMessage()));
        } else {
          write(BridgeFrames.err(reply, address, new Failure(Failure.Kind.INTERNAL, "internal error")));
        }
      });
  }

  private void register(String address) {
    streams.put(address, vertx.eventBus().consumer(address, (Message<Object> m) ->
      write(BridgeFrames.message(m.address(), m.headers(), m.body(), m.isSend()))));
  }

  private void unregister(String address) {
    MessageConsumer<Object> consumer = streams.remove(address);
    if (consumer != null) {
      consumer.unregister();
    } else {
      write(BridgeFrames.err(null, null, new Failure(Failure.Kind.NOT_FOUND, "this stream address is not registered on "
        + "this connection")));
    }
  }

  private void refused(BridgeFrames.Type type, JsonObject frame, BridgeGuard.Verdict verdict) {
    gw.metrics().refused("bridge");
    gw.metrics().audit("bridge_refused", new JsonObject().put("status", verdict.status())
      .put("type", type.name().toLowerCase()).put("address", frame.getValue("address"))
      .put("remote", String.valueOf(socket.remoteAddress())).put("reason", verdict.reason()));
    // the request's own answer when it has a reply address, so a client waiting on it fails at once
    String reply = frame.getValue("replyAddress") instanceof String r ? r : null;
    write(BridgeFrames.err(reply, frame.getValue("address"), new Failure(Failure.Kind.ofStatus(verdict.status()),
      verdict.reason())));
  }

  /** Answered 400; the connection stays usable (the length prefix keeps it in step). */
  private void invalid(String what) {
    gw.metrics().refused("bridge_frame");
    long now = System.nanoTime();
    long last = lastWarn.get();
    if (now - last >= WARN_EVERY_NANOS && lastWarn.compareAndSet(last, now)) {
      LOG.warning("bridge: " + what + " from " + socket.remoteAddress() + " (answered 400; at most one such line a "
        + "minute)");
    }
    write(BridgeFrames.err(null, null, Failure.of(Failure.Kind.BAD_REQUEST, what)));
  }

  /** Announced more than a frame may hold: answered before a byte of it is read, then closed. */
  private void tooLarge(int length) {
    gw.metrics().refused("bridge_frame");
    closeWith(BridgeFrames.err(null, null, new Failure(Failure.Kind.TOO_LARGE, "a frame of "
      + Integer.toUnsignedString(length) + " bytes; at most " + limits.maxFrameBytes())));
  }

  private void late(String what) {
    gw.metrics().refused("slow_client");
    closeWith(BridgeFrames.err(null, null, new Failure(Failure.Kind.REQUEST_TIMEOUT, what)));
  }

  /** Reads nothing more, answers {@code frame}, and closes once it is written. */
  private void closeWith(JsonObject frame) {
    closing = true;
    parser.pause();
    socket.pause();
    socket.write(BridgeFrames.encode(frame)).onComplete(ar -> socket.close());
  }

  /** Writes a frame; a client that does not read what it is sent is not read from until it does. */
  private void write(JsonObject frame) {
    socket.write(BridgeFrames.encode(frame));
    if (socket.writeQueueFull() && !closing) {
      socket.pause();
      socket.drainHandler(v -> {
        if (!closing) {
          socket.resume();
        }
      });
    }
  }

  private void closed() {
    closing = true;
    vertx.cancelTimer(firstFrameTimer);
    vertx.cancelTimer(frameTimer);
    streams.values().forEach(MessageConsumer::unregister);
    streams.clear();
  }

  static boolean loopback(SocketAddress remote) {
    String host = remote == null ? null : remote.hostAddress();
    return host != null && (host.startsWith("127.") || host.equals("0:0:0:0:0:0:0:1") || host.equals("::1"));
  }
}
