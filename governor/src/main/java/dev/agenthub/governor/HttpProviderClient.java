package dev.agenthub.governor;

import dev.agenthub.config.HubConfig;
import dev.agenthub.protocol.ModelCall;
import dev.agenthub.protocol.SseReader;

import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.PemTrustOptions;

import java.util.List;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * What the OpenAI and Anthropic clients share: one POST of a JSON body, answered either as one JSON
 * document or, for a streamed call, as server-sent events decoded piece by piece; a deadline for the
 * whole call; cancel; stop sequences applied here for models that refuse {@code stop}; and provider
 * errors reduced to their message and parameter, with any secret masked.
 */
abstract class HttpProviderClient implements ProviderClient {

  /** A provider's own streamed error event ({@code {"error":...}} in the stream). */
  static final class StreamError extends RuntimeException {
    final int status;

    StreamError(int status, String message) {
      super(message, null, false, false);
      this.status = status;
    }
  }

  /** Decodes one streamed answer, event by event. */
  interface Decoder {
    /** One server-sent event; text of the answer goes to {@code text}. */
    void event(String name, String data, Consumer<String> text);

    /** True once the provider's last event came. */
    boolean done();

    /** The answer: tool calls, usage and finish reason (the caller knows the text it received). */
    Result finish(MultiMap headers, String content);
  }

  static final int MAX_EVENT_BYTES = 4 * 1024 * 1024;
  private static final Pattern KEY_LIKE = Pattern.compile("(sk-|sk-ant-)[A-Za-z0-9_-]{6,}");

  private final Vertx vertx;
  private final HttpClientAgent http;
  private final String url;

  HttpProviderClient(Vertx vertx, HttpClientAgent http, String url) {
    this.vertx = vertx;
    this.http = http;
    this.url = url;
  }

  /**
   * The HTTP client of one provider: at most {@code max-connections} connections (HTTP/1.1: one call
   * each; HTTP/2: up to {@link #STREAMS_PER_CONNECTION} calls each), no wait queue of its own worth
   * speaking of (the lane queues fairly and bounds the calls it lets through, see {@link #maxInFlight}),
   * and HTTP/2 as {@code http2} says.
   */
  static HttpClientAgent http(Vertx vertx, HubConfig.Provider p) {
    boolean tls = p.baseUrl().startsWith("https://");
    HttpClientOptions options = new HttpClientOptions().setConnectTimeout(10_000).setKeepAlive(true)
      .setKeepAliveTimeout(60).setHttp2KeepAliveTimeout(60).setTcpNoDelay(true).setName("agenthub-" + p.id())
      .setHttp2MultiplexingLimit(STREAMS_PER_CONNECTION);
    if (tls) {
      options.setSsl(true);
      if (p.caFile() != null) {
        options.setTrustOptions(new PemTrustOptions().addCertPath(p.caFile()));
      }
    }
    switch (p.http2()) {
      case ON -> {
        options.setProtocolVersion(HttpVersion.HTTP_2);
        if (tls) {
          options.setUseAlpn(true).setAlpnVersions(List.of(HttpVersion.HTTP_2, HttpVersion.HTTP_1_1));
        } else {
          options.setHttp2ClearTextUpgrade(false); // prior knowledge: h2c from the first byte
        }
      }
      case AUTO -> {
        if (tls) {
          options.setProtocolVersion(HttpVersion.HTTP_2).setUseAlpn(true)
            .setAlpnVersions(List.of(HttpVersion.HTTP_2, HttpVersion.HTTP_1_1));
        }
      }
      case OFF -> options.setProtocolVersion(HttpVersion.HTTP_1_1);
    }
    // the connections' I/O (codec, TLS, reads and writes) spread over the node's event loops; their
    // answers come back on the governor's context, which then only runs the lane's logic
    PoolOptions pool = new PoolOptions().setHttp1MaxSize(p.maxConnections()).setHttp2MaxSize(p.maxConnections())
      .setMaxWaitQueueSize(-1).setEventLoopSize(Math.max(1, Runtime.getRuntime().availableProcessors()));
    return vertx.httpClientBuilder().with(options).with(pool).build();
  }

  /** HTTP/2 streams the hub opens on one connection at most (providers commonly allow 100). */
  static final int STREAMS_PER_CONNECTION = 100;

  /**
   * Calls a node lets go to the provider at once: one per connection over HTTP/1.1, a connection's
   * streams each over HTTP/2 (on, or auto over TLS, where ALPN usually agrees on it; if the provider
   * only speaks HTTP/1.1 the pool holds the excess until a connection frees up, within each call's
   * deadline).
   */
  static int maxInFlight(HubConfig.Provider p) {
    boolean h2 = p.http2() == HubConfig.Http2.ON
      || p.http2() == HubConfig.Http2.AUTO && p.baseUrl().startsWith("https://");
    return h2 ? (int) Math.min(1_000_000L, (long) p.maxConnections() * STREAMS_PER_CONNECTION) : p.maxConnections();
  }

  /** Adds the auth and version headers. */
  abstract void headers(RequestOptions request, String secret);

  /** The request body; {@code sendStop} false when the hub applies the stop sequences itself. */
  abstract JsonObject body(Call call, boolean sendStop);

  /** A whole (not streamed) answer. */
  abstract Result parse(MultiMap headers, JsonObject body);

  abstract Decoder decoder();

  /** Whether the provider applies stop sequences for this model (otherwise the hub does). */
  boolean takesStop(HubConfig.Model model) {
    return true;
  }

  @Override
  public Exchange start(Call call) {
    boolean hubStops = !call.stop().isEmpty() && !takesStop(call.model());
    RequestOptions options = new RequestOptions().setMethod(HttpMethod.POST).setAbsoluteURI(url)
      .putHeader("Content-Type", "application/json").putHeader("User-Agent", "agenthub");
    if (call.streamed()) {
      options.putHeader("Accept", "text/event-stream");
    }
    headers(options, call.secret());
    Buffer body = body(call, !hubStops).toBuffer();
    Running running = new Running(call, hubStops ? new StopScanner(call.stop()) : null);
    running.timer = vertx.setTimer(Math.max(1, call.timeoutMs()), id -> running.timedOut());
    http.request(options).compose(request -> {
      if (running.finished()) {
        request.reset();
        return Future.failedFuture("cancelled before it was sent");
      }
      running.request = request;
      return request.send(body);
    }).onComplete(ar -> {
      if (ar.failed()) {
        running.fail(0, MultiMap.caseInsensitiveMultiMap(), ar.cause().getClass().getSimpleName()
          + (ar.cause().getMessage() == null ? "" : ": " + mask(ar.cause().getMessage(), call.secret())), null);
      } else {
        running.response(ar.result());
      }
    });
    return running;
  }

  /** One call in flight. Lives on the governor's context. */
  private final class Running implements Exchange {
    final Call call;
    final StopScanner scanner;
    final Promise<Result> promise = Promise.promise();
    final StringBuilder delivered = new StringBuilder();
    HttpClientRequest request;
    MultiMap headers = MultiMap.caseInsensitiveMultiMap();
    long timer = -1;

    Running(Call call, StopScanner scanner) {
      this.call = call;
      this.scanner = scanner;
    }

    @Override
    public Future<Result> result() {
      return promise.future();
    }

    boolean finished() {
      return promise.future().isComplete();
    }

    @Override
    public void cancel() {
      if (finished()) {
        return;
      }
      complete(Result.answer(headers, delivered.toString(), new JsonArray(), ModelCall.Usage.NONE,
        ModelCall.CANCELLED));
      reset();
    }

    void timedOut() {
      timer = -1;
      if (!finished()) {
        fail(0, headers, "no answer within " + call.timeoutMs() + " ms", null);
        reset();
      }
    }

    void reset() {
      if (request != null) {
        request.reset();
      }
    }

    void complete(Result r) {
      if (timer >= 0) {
        vertx.cancelTimer(timer);
        timer = -1;
      }
      promise.tryComplete(r);
    }

    void fail(int status, MultiMap h, String error, String param) {
      complete(Result.failure(status, h, error, param));
    }

    void response(HttpClientResponse resp) {
      headers = resp.headers();
      if (finished()) {
        return;
      }
      if (resp.statusCode() / 100 != 2) {
        resp.body().onComplete(ar -> {
          String[] error = errorOf(ar.succeeded() ? ar.result().toString() : "", call.secret());
          fail(resp.statusCode(), resp.headers(), error[0], error[1]);
        });
        return;
      }
      String type = resp.getHeader("Content-Type");
      if (call.streamed() && type != null && type.startsWith("text/event-stream")) {
        stream(resp);
        return;
      }
      resp.body().onComplete(ar -> {
        if (finished()) {
          return;
        }
        Result r;
        try {
          r = parse(resp.headers(), ar.result().toJsonObject());
        } catch (RuntimeException e) {
          fail(0, resp.headers(), "the provider's answer could not be read ("
            + (ar.failed() ? ar.cause().getClass().getSimpleName() : "not the expected JSON") + ")", null);
          return;
        }
        String content = r.content() == null ? "" : r.content();
        if (!call.stop().isEmpty()) {
          String cut = StopScanner.cut(content, call.stop());
          if (cut.length() < content.length()) {
            content = cut;
            r = new Result(r.status(), r.headers(), cut, r.toolCalls(), r.usage(), "stop", null, null, null);
          }
        }
        if (call.streamed() && !content.isEmpty()) {
          call.deltas().accept(content); // a provider that answered whole: one piece
        }
        complete(r);
      });
    }

    private void stream(HttpClientResponse resp) {
      Decoder decoder = decoder();
      SseReader reader = new SseReader(MAX_EVENT_BYTES, (name, data) -> decoder.event(name, data, this::piece));
      resp.handler(buffer -> {
        if (finished()) {
          return;
        }
        try {
          reader.feed(buffer.getBytes());
        } catch (StreamError e) {
          fail(e.status, resp.headers(), mask(e.getMessage(), call.secret()), null);
          reset();
          return;
        } catch (RuntimeException e) {
          fail(0, resp.headers(), "the provider's stream could not be read: " + e.getMessage(), null);
          reset();
          return;
        }
        if (scanner != null && scanner.stopped()) {
          // the answer reached a stop sequence: the rest is not wanted (and not paid for, once cut)
          complete(decoder.finish(resp.headers(), delivered.toString()).withFinish("stop"));
          reset();
        }
      });
      resp.exceptionHandler(err -> fail(0, resp.headers(), "the stream broke: " + err.getClass().getSimpleName(), null));
      resp.endHandler(v -> {
        if (finished()) {
          return;
        }
        try {
          reader.end();
        } catch (RuntimeException e) {
          fail(0, resp.headers(), "the provider's stream could not be read: " + e.getMessage(), null);
          return;
        }
        if (scanner != null) {
          piece(scanner.flush(), false);
        }
        if (!decoder.done()) {
          fail(0, resp.headers(), "the stream ended before the answer did", null);
          return;
        }
        complete(decoder.finish(resp.headers(), delivered.toString()));
      });
    }

    private void piece(String text) {
      piece(text, true);
    }

    private void piece(String text, boolean scan) {
      if (finished() || text == null || text.isEmpty()) {
        return;
      }
      String out = scan && scanner != null ? scanner.feed(text) : text;
      if (!out.isEmpty()) {
        delivered.append(out);
        call.deltas().accept(out);
      }
    }
  }

  /** The provider's error message and the parameter it names, with anything secret masked. */
  static String[] errorOf(String body, String secret) {
    String message = "provider error";
    String param = null;
    try {
      JsonObject error = new JsonObject(body).getJsonObject("error");
      if (error != null) {
        message = error.getString("message", message);
        Object p = error.getValue("param");
        param = p instanceof String s ? s : null;
      }
    } catch (RuntimeException e) {
      // not JSON: keep the generic message rather than echo what the provider sent
    }
    return new String[]{mask(message, secret), param};
  }

  /** {@code text} with the secret and anything that looks like an API key masked. */
  static String mask(String text, String secret) {
    if (text == null) {
      return null;
    }
    String out = secret != null && secret.length() >= 4 ? text.replace(secret, "***") : text;
    return KEY_LIKE.matcher(out).replaceAll("$1***");
  }
}
