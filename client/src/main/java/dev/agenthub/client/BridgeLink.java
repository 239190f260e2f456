package dev.agenthub.client;

import dev.agenthub.protocol.EventBusApi;
import dev.agenthub.protocol.Failure;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;

/**
 * One connection to a hub node's TCP event-bus bridge, and the failover to another: the bridge's
 * framing (a 4-byte big-endian length, then a JSON frame {@code {type, address, replyAddress,
 * headers, body}}) spoken directly, so the client needs nothing but Vert.x core. Requests in flight
 * when the connection fails are sent again, unchanged (their idempotency keys with them), on the next
 * bridge that answers. Lives on one context: every field is touched only there.
 */
final class BridgeLink {

  static final long PING_MS = 20_000;
  private static final long RECONNECT_MS = 500;
  private static final int MAX_FRAME = 64 * 1024 * 1024;

  /** A request until it is answered; sent again on the next connection if this one fails first. */
  private record Pending(String agent, JsonObject frame, Promise<JsonObject> promise, long timer) {
  }

  private final Vertx vertx;
  private final Context context;
  private final List<String> bridges;
  private final NetClient net;
  private final String authorization;
  private final String streamAddress;
  private final BiConsumer<JsonObject, JsonObject> onDelta;
  private final Map<String, Pending> pending = new LinkedHashMap<>();
  private NetSocket socket;
  private Future<NetSocket> connecting;
  private int next;
  private long pinger = -1;
  private boolean streaming;
  private boolean closed;
  private Buffer received = Buffer.buffer();
  private String lastConnectError;

  /**
   * @param onDelta the body and headers of every message that comes to this client's stream address
   */
  BridgeLink(Vertx vertx, List<String> bridges, String token, String caFile, String certFile, String keyFile,
             String streamAddress, BiConsumer<JsonObject, JsonObject> onDelta) {
    this.vertx = vertx;
    this.context = vertx.getOrCreateContext();
    this.bridges = List.copyOf(bridges);
    this.authorization = token == null ? null : "Bearer " + token;
    this.streamAddress = streamAddress;
    this.onDelta = onDelta;
    NetClientOptions options = new NetClientOptions().setConnectTimeout(5_000)
      .setIdleTimeout((int) (3 * PING_MS / 1000)).setIdleTimeoutUnit(TimeUnit.SECONDS);
    if (caFile != null) {
      options.setSsl(true).setHostnameVerificationAlgorithm("HTTPS")
        .setTrustOptions(new PemTrustOptions().addCertPath(caFile));
      if (certFile != null) {
        options.setKeyCertOptions(new PemKeyCertOptions().setCertPath(certFile).setKeyPath(keyFile));
      }
    }
    this.net = vertx.createNetClient(options);
  }

  /**
   * Sends a request to {@code agenthub.agents.<agent>} and answers the reply's body; failures are
   * {@link AgentHubException}s.
   */
  Future<JsonObject> request(String agent, JsonObject body, Map<String, String> extraHeaders, long timeoutMs) {
    Promise<JsonObject> promise = Promise.promise();
    context.runOnContext(v -> {
      if (closed) {
        promise.fail(new AgentHubException(Failure.Kind.UNAVAILABLE, "the client is closed"));
        return;
      }
      String reply = "agenthub.reply." + UUID.randomUUID();
      JsonObject headers = headers().put("timeout", timeoutMs);
      extraHeaders.forEach(headers::put);
      if (extraHeaders.containsKey(EventBusApi.STREAM_TO) && !streaming) {
        // the stream address is registered once per connection, before the first request that needs it
        streaming = true;
        if (socket != null) {
          register(socket);
        }
      }
      JsonObject frame = new JsonObject().put("type", "send").put("address", EventBusApi.address(agent))
        .put("replyAddress", reply).put("headers", headers).put("body", body);
      long timer = vertx.setTimer(timeoutMs, id -> {
        Pending p = pending.remove(reply);
        if (p != null) {
          p.promise.tryFail(socket == null && lastConnectError != null
            ? new AgentHubException(Failure.Kind.UNAVAILABLE, "no bridge could be reached (" + bridges + "): "
              + lastConnectError)
            : AgentHubException.timedOut(agent));
        }
      });
      pending.put(reply, new Pending(agent, frame, promise, timer));
      connected().onSuccess(s -> {
        if (pending.containsKey(reply)) {
          write(s, frame);
        }
      });
    });
    return promise.future();
  }

  Future<Void> close() {
    Promise<Void> done = Promise.promise();
    context.runOnContext(v -> {
      closed = true;
      vertx.cancelTimer(pinger);
      new ArrayList<>(pending.values()).forEach(p -> {
        vertx.cancelTimer(p.timer);
        p.promise.tryFail(new AgentHubException(Failure.Kind.UNAVAILABLE, "the client was closed"));
      });
      pending.clear();
      NetSocket s = socket;
      socket = null;
      (s == null ? Future.<Void>succeededFuture() : s.close()).transform(ar -> net.close()).onComplete(done);
    });
    return done.future();
  }

  private JsonObject headers() {
    JsonObject headers = new JsonObject();
    if (authorization != null) {
      headers.put(EventBusApi.AUTHORIZATION, authorization);
    }
    return headers;
  }

  /** The connection, made (to the next bridge in turn) if there is none. */
  private Future<NetSocket> connected() {
    if (socket != null) {
      return Future.succeededFuture(socket);
    }
    if (connecting == null) {
      connecting = connectAny(0).andThen(ar -> connecting = null);
    }
    return connecting;
  }

  private Future<NetSocket> connectAny(int tried) {
    if (closed || pending.isEmpty() && tried > 0) {
      return Future.failedFuture("closed or nothing to send");
    }
    String bridge = bridges.get(next % bridges.size());
    int colon = bridge.lastIndexOf(':');
    return net.connect(Integer.parseInt(bridge.substring(colon + 1)), bridge.substring(0, colon))
      .map(this::opened)
      .recover(err -> {
        lastConnectError = bridge + ": " + err.getMessage();
        next++;
        // every bridge tried once: wait a little before the next round (pending requests keep their timers)
        long delay = (tried + 1) % bridges.size() == 0 ? RECONNECT_MS : 0;
        Promise<NetSocket> later = Promise.promise();
        vertx.setTimer(Math.max(1, delay), id -> connectAny(tried + 1).onComplete(later));
        return later.future();
      });
  }

  private NetSocket opened(NetSocket s) {
    socket = s;
    lastConnectError = null;
    received = Buffer.buffer();
    s.handler(this::onBytes);
    s.closeHandler(v -> onClosed(s));
    s.exceptionHandler(err -> s.close());
    if (streaming) {
      register(s);
    }
    vertx.cancelTimer(pinger);
    pinger = vertx.setPeriodic(PING_MS, id -> {
      if (socket == s) {
        write(s, new JsonObject().put("type", "ping"));
      }
    });
    return s;
  }

  private void register(NetSocket s) {
    write(s, new JsonObject().put("type", "register").put("address", streamAddress).put("headers", headers()));
  }

  /** The connection failed: every request in flight goes again, unchanged, on the next bridge. */
  private void onClosed(NetSocket s) {
    if (socket != s) {
      return;
    }
    socket = null;
    vertx.cancelTimer(pinger);
    if (closed || pending.isEmpty()) {
      return;
    }
    next++;
    // the requests written to the lost connection; those made meanwhile are written once it is back
    List<String> exposed = new ArrayList<>(pending.keySet());
    connected().onSuccess(fresh -> exposed.forEach(reply -> {
      Pending p = pending.get(reply);
      if (p != null) {
        write(fresh, p.frame);
      }
    }));
  }

  private void onBytes(Buffer bytes) {
    received.appendBuffer(bytes);
    int at = 0;
    while (received.length() - at >= 4) {
      int length = received.getInt(at);
      if (length < 0 || length > MAX_FRAME) {
        socket.close();
        return;
      }
      if (received.length() - at - 4 < length) {
        break;
      }
      JsonObject frame;
      try {
        frame = new JsonObject(received.getString(at + 4, at + 4 + length, "UTF-8"));
      } catch (RuntimeException e) {
        frame = null;
      }
      at += 4 + length;
      if (frame != null) {
        onFrame(frame);
      }
    }
    received = at == 0 ? received : received.getBuffer(at, received.length());
  }

  private void onFrame(JsonObject frame) {
    String type = frame.getString("type", "");
    String address = frame.getValue("address") instanceof String a ? a : null;
    if (address != null && address.equals(streamAddress) && "message".equals(type)) {
      JsonObject headers = frame.getValue("headers") instanceof JsonObject h ? h : new JsonObject();
      if (frame.getValue("body") instanceof JsonObject body) {
        onDelta.accept(body, headers);
      }
      return;
    }
    Pending p = address == null ? null : pending.remove(address);
    if (p == null) {
      return; // a pong, or an err frame not tied to a request of ours
    }
    if ("err".equals(type) && "NO_HANDLERS".equals(frame.getString("failureType"))) {
      // the hub answers unknown agents itself: this node's door is not there (starting or stopping), so
      // the same request goes again in a moment, to whichever bridge is connected then
      pending.put(address, p);
      vertx.setTimer(RECONNECT_MS, id -> {
        if (pending.get(address) == p) {
          connected().onSuccess(s -> write(s, p.frame));
        }
      });
      return;
    }
    vertx.cancelTimer(p.timer);
    if ("message".equals(type)) {
      Object body = frame.getValue("body");
      try {
        p.promise.tryComplete(body instanceof JsonObject json ? json : new JsonObject(String.valueOf(body)));
      } catch (RuntimeException e) {
        p.promise.tryFail(new AgentHubException(Failure.Kind.INTERNAL, "the hub's reply is not a JSON object"));
      }
    } else {
      p.promise.tryFail(failure(p.agent, frame));
    }
  }

  /** An err frame as the API's failure: its code is the HTTP status, its message the error object. */
  static AgentHubException failure(String agent, JsonObject frame) {
    if ("TIMEOUT".equals(frame.getString("failureType", ""))) {
      return AgentHubException.timedOut(agent);
    }
    int code = frame.getValue("failureCode") instanceof Number n ? n.intValue() : -1;
    return AgentHubException.answered(code, frame.getValue("message") instanceof String m ? m : "");
  }


  private static void write(NetSocket s, JsonObject frame) {
    byte[] bytes = frame.encode().getBytes(StandardCharsets.UTF_8);
    s.write(Buffer.buffer(bytes.length + 4).appendInt(bytes.length).appendBytes(bytes));
  }
}
