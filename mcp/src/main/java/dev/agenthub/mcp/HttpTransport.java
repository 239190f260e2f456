package dev.agenthub.mcp;

import dev.agenthub.protocol.SseReader;

import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.net.URI;
import java.util.Map;
import java.util.logging.Logger;

/**
 * An MCP server over Streamable HTTP (revision 2025-06-18): every message a POST to the endpoint;
 * the answer comes back as one JSON body or as a server-sent event stream (notifications first, the
 * response last); a notification is answered 202. The server's session id
 * ({@code Mcp-Session-Id}) and the agreed revision ({@code MCP-Protocol-Version}) go on every later
 * request; a 404 on a session means it expired and the session starts over. A GET stream, when the
 * server offers one, brings what the server says unasked ({@code notifications/tools/list_changed}).
 * The configured headers (an {@code Authorization} from the environment) go on every request and
 * never into a log.
 */
final class HttpTransport implements McpTransport {

  static final String SESSION = "Mcp-Session-Id";
  static final String VERSION = "MCP-Protocol-Version";
  private static final int MAX_EVENT = StdioTransport.MAX_LINE;
  private static final long LISTEN_RETRY_MS = 2_000;
  private static final Logger LOG = Logger.getLogger(HttpTransport.class.getName());

  private final Vertx vertx;
  private final String server;
  private final URI url;
  private final Map<String, String> headers;
  private final long timeoutMs;
  private final HttpClient http;
  private Handler<JsonObject> messages;
  private Handler<String> closed;
  private String session;
  private String version;
  private boolean open;
  private boolean listening;

  HttpTransport(Vertx vertx, String server, String url, Map<String, String> headers, long timeoutMs,
                int maxConcurrent) {
    this.vertx = vertx;
    this.server = server;
    this.url = URI.create(url);
    this.headers = Map.copyOf(headers);
    this.timeoutMs = timeoutMs;
    boolean tls = "https".equalsIgnoreCase(this.url.getScheme());
    this.http = vertx.createHttpClient(new HttpClientOptions().setSsl(tls).setConnectTimeout(10_000)
      .setKeepAlive(true), new PoolOptions().setHttp1MaxSize(maxConcurrent + 2));
  }

  @Override
  public Future<Void> open(Handler<JsonObject> messages, Handler<String> closed) {
    this.messages = messages;
    this.closed = closed;
    this.open = true;
    return Future.succeededFuture();
  }

  @Override
  public void negotiated(String protocolVersion) {
    this.version = protocolVersion;
    if (!listening) {
      listening = true;
      listen();
    }
  }

  @Override
  public Future<Void> send(JsonObject message) {
    if (!open) {
      return Future.failedFuture(new IllegalStateException("the session is closed"));
    }
    boolean request = message.containsKey("method") && message.containsKey("id");
    boolean initialize = "initialize".equals(message.getString("method"));
    RequestOptions options = options(HttpMethod.POST).putHeader("Content-Type", "application/json")
      .putHeader("Accept", "application/json, text/event-stream")
      // a stream may stay quiet while a long tool works; the call's own timeout ends it before this
      .setIdleTimeout(timeoutMs + 5_000);
    return http.request(options).compose(req -> req.send(message.toBuffer())).compose(resp -> {
      if (initialize && resp.getHeader(SESSION) != null) {
        session = resp.getHeader(SESSION);
      }
      int status = resp.statusCode();
      if (status == 202 || status == 204) {
        return resp.body().mapEmpty();
      }
      if (status == 404 && session != null) {
        resp.body();
        ended("the server ended the session (404)");
        return Future.failedFuture(new IllegalStateException("the server ended the session"));
      }
      if (status / 100 != 2) {
        return resp.body().compose(b -> Future.failedFuture(new IllegalStateException("HTTP " + status
          + " from the server")));
      }
      if (!request) {
        return resp.body().mapEmpty();
      }
      String type = resp.getHeader("Content-Type") == null ? "" : resp.getHeader("Content-Type").toLowerCase();
      return type.startsWith("text/event-stream") ? stream(resp) : resp.body().map(this::json);
    });
  }

  private Void json(Buffer body) {
    Object parsed;
    try {
      parsed = decode(body);
    } catch (DecodeException e) {
      throw new IllegalStateException("the server answered with something that is not JSON");
    }
    if (parsed instanceof JsonObject one) {
      messages.handle(one);
    } else if (parsed instanceof JsonArray many) {
      for (int i = 0; i < many.size(); i++) {
        if (many.getValue(i) instanceof JsonObject m) {
          messages.handle(m);
        }
      }
    }
    return null;
  }

  /** A POST's answer as events: each a message, the response among them; it ends when the server closes it. */
  private Future<Void> stream(HttpClientResponse resp) {
    SseReader reader = new SseReader(MAX_EVENT, (event, data) -> {
      if (data == null || data.isBlank() || event != null && !event.equals("message")) {
        return;
      }
      try {
        messages.handle(new JsonObject(data));
      } catch (DecodeException | ClassCastException e) {
        LOG.warning("mcp " + server + ": an event that is not a JSON-RPC message was ignored");
      }
    });
    resp.handler(chunk -> reader.feed(chunk.getBytes()));
    return resp.end().onSuccess(v -> reader.end());
  }

  /** The GET stream of what the server sends unasked; a server without one answers 405. */
  private void listen() {
    if (!open) {
      return;
    }
    RequestOptions options = options(HttpMethod.GET).putHeader("Accept", "text/event-stream").setIdleTimeout(0);
    http.request(options).compose(req -> req.send()).compose(resp -> {
      if (resp.statusCode() == 405) {
        listening = false;
        return resp.body().<Boolean>map(b -> false);
      }
      if (resp.statusCode() != 200) {
        return resp.body().<Boolean>map(b -> true);
      }
      return stream(resp).map(v -> true);
    }).onComplete(ar -> {
      if (open && (ar.failed() || ar.result())) {
        vertx.setTimer(LISTEN_RETRY_MS, id -> listen());
      }
    });
  }

  private RequestOptions options(HttpMethod method) {
    int port = url.getPort() > 0 ? url.getPort() : "https".equalsIgnoreCase(url.getScheme()) ? 443 : 80;
    String path = (url.getRawPath() == null || url.getRawPath().isEmpty() ? "/" : url.getRawPath())
      + (url.getRawQuery() == null ? "" : "?" + url.getRawQuery());
    RequestOptions options = new RequestOptions().setMethod(method).setHost(url.getHost()).setPort(port).setURI(path)
      .setFollowRedirects(false);
    headers.forEach(options::putHeader);
    if (session != null) {
      options.putHeader(SESSION, session);
    }
    if (version != null) {
      options.putHeader(VERSION, version);
    }
    return options;
  }

  private void ended(String why) {
    if (open) {
      open = false;
      session = null;
      if (closed != null) {
        closed.handle(why);
      }
    }
  }

  @Override
  public Future<Void> close() {
    boolean wasOpen = open;
    open = false;
    if (!wasOpen || session == null) {
      return http.close();
    }
    // a polite end of the session; the server may not allow it (405), which is fine
    return http.request(options(HttpMethod.DELETE)).compose(req -> req.send()).compose(HttpClientResponse::body)
      .<Void>mapEmpty().recover(err -> Future.succeededFuture()).eventually(http::close);
  }

  /** A JSON body: an object, or an array (a batch). */
  private static Object decode(Buffer body) {
    String text = body.toString().strip();
    return text.startsWith("[") ? new JsonArray(text) : new JsonObject(text);
  }
}
