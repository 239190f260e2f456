package dev.agenthub.hub;

import dev.agenthub.testing.Fixtures;

import io.vertx.core.json.JsonObject;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Headless Chromium driven over the DevTools protocol (the JDK's own HTTP and WebSocket clients):
 * open a page, evaluate JavaScript in it, take screenshots. Everything on 127.0.0.1.
 */
public final class Browser implements AutoCloseable {

  public static final Path CHROMIUM = Path.of("/usr/bin/chromium");

  private final Process process;
  private final WebSocket socket;
  private final Map<Integer, CompletableFuture<JsonObject>> pending = new ConcurrentHashMap<>();
  private final AtomicInteger ids = new AtomicInteger();

  private Browser(Process process, WebSocket socket) {
    this.process = process;
    this.socket = socket;
  }

  public static boolean available() {
    return Files.isExecutable(CHROMIUM);
  }

  /** Starts Chromium and opens {@code url} in a tab. */
  public static Browser open(String url, Path profile) throws Exception {
    return open(url, profile, 1280, 1000);
  }

  /** Starts Chromium with a window of {@code width} x {@code height} and opens {@code url} in a tab. */
  public static Browser open(String url, Path profile, int width, int height) throws Exception {
    Files.createDirectories(profile);
    Process p = new ProcessBuilder(CHROMIUM.toString(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
      "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
      "--disable-dev-shm-usage", "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
      "--remote-allow-origins=*", "--window-size=" + width + "," + height, "--user-data-dir=" + profile, "about:blank")
      .redirectErrorStream(true).redirectOutput(profile.resolve("chromium.log").toFile()).start();
    Path portFile = profile.resolve("DevToolsActivePort");
    Fixtures.await("chromium's DevTools port", Duration.ofMinutes(1), () -> {
      try {
        return Files.exists(portFile) && Files.readAllLines(portFile).size() >= 2;
      } catch (Exception e) {
        return false;
      }
    });
    int port = Integer.parseInt(Files.readAllLines(portFile).get(0).trim());
    HttpClient http = HttpClient.newHttpClient();
    HttpResponse<String> target = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/json/new?"
      + url)).PUT(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
    String ws = new JsonObject(target.body()).getString("webSocketDebuggerUrl");
    Browser[] self = new Browser[1];
    StringBuilder partial = new StringBuilder();
    WebSocket socket = http.newWebSocketBuilder().buildAsync(URI.create(ws), new WebSocket.Listener() {
      @Override
      public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
        partial.append(data);
        if (last) {
          JsonObject msg = new JsonObject(partial.toString());
          partial.setLength(0);
          Integer id = msg.getInteger("id");
          if (id != null && self[0] != null) {
            CompletableFuture<JsonObject> f = self[0].pending.remove(id);
            if (f != null) {
              f.complete(msg);
            }
          }
        }
        webSocket.request(1);
        return null;
      }
    }).get(30, TimeUnit.SECONDS);
    self[0] = new Browser(p, socket);
    return self[0];
  }

  public JsonObject call(String method, JsonObject params) throws Exception {
    int id = ids.incrementAndGet();
    CompletableFuture<JsonObject> f = new CompletableFuture<>();
    pending.put(id, f);
    socket.sendText(new JsonObject().put("id", id).put("method", method).put("params", params).encode(), true);
    return f.get(60, TimeUnit.SECONDS);
  }

  /** Evaluates {@code expression} in the page; answers its value (JSON-compatible). */
  public Object eval(String expression) throws Exception {
    JsonObject r = call("Runtime.evaluate", new JsonObject().put("expression", expression).put("returnByValue", true));
    return r.getJsonObject("result").getJsonObject("result").getValue("value");
  }

  public void screenshot(Path file) throws Exception {
    JsonObject r = call("Page.captureScreenshot", new JsonObject().put("format", "png"));
    Files.createDirectories(file.getParent());
    Files.write(file, Base64.getDecoder().decode(r.getJsonObject("result").getString("data")));
  }

  @Override
  public void close() {
    socket.abort();
    process.destroyForcibly();
  }
}
