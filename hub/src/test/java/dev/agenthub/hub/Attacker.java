package dev.agenthub.hub;

import dev.agenthub.client.LiteMember;
import dev.agenthub.protocol.EventBusApi;

import com.hazelcast.config.Config;
import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import io.vertx.core.MultiMap;
import io.vertx.core.eventbus.impl.clustered.ClusteredMessage;
import io.vertx.core.eventbus.impl.codecs.JsonObjectMessageCodec;
import io.vertx.core.json.JsonObject;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * A process on the same network as a hub cluster, run as its own JVM by {@code AttackIT}: it knows the
 * cluster's name, the members' addresses, every port the nodes listen on, and one client's token (a
 * client allowed the agent {@code support} only). It joins Hazelcast under every name it can think
 * of, writes real event-bus frames (a memory write into the sensitive agent's memory, promises of an
 * absurd epoch) to every port, over TLS without the cluster's certificate and in plain text, and
 * tries HTTP beyond its client's rights. It prints one
 * line per attempt: {@code ATTACK <name> blocked|SUCCEEDED <what it saw>}. It never fails itself: the
 * test reads the lines.
 *
 * <p>Arguments: {@code <cluster name> <members h:p,..> <http urls,..> <listening ports h:p,..> <token>
 * [<bridges h:p,..>]}.
 */
public final class Attacker {

  private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
    .connectTimeout(Duration.ofSeconds(5)).build();
  private final Map<String, String> results = new LinkedHashMap<>();

  public static void main(String[] args) throws Exception {
    String cluster = args[0];
    List<String> members = List.of(args[1].split(","));
    List<String> urls = List.of(args[2].split(","));
    List<String> ports = args[3].isEmpty() ? List.of() : List.of(args[3].split(","));
    String token = args[4];
    List<String> bridges = args.length > 5 && !args[5].isEmpty() ? List.of(args[5].split(",")) : List.of();
    Attacker a = new Attacker();
    if (args.length > 6) {
      // the control: with the secret the same join is taken in, so "alone" above means refused
      control(cluster, members, args[6].getBytes(StandardCharsets.UTF_8));
    }
    a.join(cluster, members);
    a.eventBusPorts(ports);
    a.http(urls, token);
    for (String bridge : bridges) {
      a.bridge(bridge, token);
    }
    a.results.forEach((name, result) -> System.out.println("ATTACK " + name + " " + result));
    System.out.flush();
    System.exit(0);
  }

  private void report(String name, boolean blocked, String detail) {
    results.put(name, (blocked ? "blocked " : "SUCCEEDED ") + detail.replace('\n', ' '));
  }

  /** A join with the real secret: it must see the nodes (else the attempts below prove nothing). */
  private static void control(String cluster, List<String> members, byte[] secret) {
    Config hz = LiteMember.config(cluster, secret, "127.0.0.1", members);
    hz.setProperty("hazelcast.logging.type", "none");
    hz.getNetworkConfig().setPort(Integer.parseInt(members.get(0).split(":")[1]) + 40).setPortAutoIncrement(true);
    HazelcastInstance instance = null;
    try {
      instance = Hazelcast.newHazelcastInstance(hz);
      int seen = instance.getCluster().getMembers().size();
      System.out.println("CONTROL join-with-the-secret " + (seen > 1 ? "ok" : "FAILED") + " members seen: " + seen);
    } catch (RuntimeException e) {
      System.out.println("CONTROL join-with-the-secret FAILED " + e);
    } finally {
      if (instance != null) {
        instance.shutdown();
      }
    }
  }

  /** Joins Hazelcast under every name it can think of; taken in, it would see the nodes as members. */
  private void join(String cluster, List<String> members) {
    Map<String, Config> tries = new LinkedHashMap<>();
    byte[] oldDerived = sha256("agenthub-cluster:" + cluster);
    for (boolean lite : new boolean[] {true, false}) {
      String kind = lite ? "lite" : "data";
      Config byName = LiteMember.config(cluster, "0123456789abcdef".getBytes(StandardCharsets.UTF_8), "127.0.0.1",
        members);
      byName.setClusterName(cluster);
      tries.put("join-" + kind + "-by-cluster-name", byName.setLiteMember(lite));
      tries.put("join-" + kind + "-by-name-derived-secret",
        LiteMember.config(cluster, oldDerived, "127.0.0.1", members).setLiteMember(lite));
      Config dev = LiteMember.config(cluster, oldDerived, "127.0.0.1", members);
      dev.setClusterName("dev"); // Hazelcast's default
      tries.put("join-" + kind + "-by-default-name", dev.setLiteMember(lite));
    }
    for (Map.Entry<String, Config> t : tries.entrySet()) {
      Config hz = t.getValue();
      hz.setProperty("hazelcast.wait.seconds.before.join", "0");
      hz.setProperty("hazelcast.logging.type", "none");
      hz.getNetworkConfig().setPort(members.isEmpty() ? 5701 : Integer.parseInt(members.get(0).split(":")[1]) + 40)
        .setPortAutoIncrement(true);
      HazelcastInstance instance = null;
      try {
        instance = Hazelcast.newHazelcastInstance(hz);
        int seen = instance.getCluster().getMembers().size();
        report(t.getKey(), seen == 1, "members seen: " + seen);
      } catch (RuntimeException e) {
        report(t.getKey(), true, "could not start: " + e.getClass().getSimpleName());
      } finally {
        if (instance != null) {
          instance.shutdown();
        }
      }
    }
  }

  /**
   * Every port the nodes listen on, spoken to with TLS and a certificate of its own (not one the
   * cluster's CA signed), then in plain text with an event-bus frame asking for a memory file.
   */
  private void eventBusPorts(List<String> ports) {
    for (String hostPort : ports) {
      String[] hp = hostPort.split(":");
      String host = hp[0];
      int port = Integer.parseInt(hp[1]);
      try {
        SSLContext tls = SSLContext.getInstance("TLS");
        tls.init(null, new TrustManager[] {new TrustAll()}, new SecureRandom());
        try (SSLSocket socket = (SSLSocket) tls.getSocketFactory().createSocket()) {
          socket.connect(new InetSocketAddress(host, port), 2_000);
          socket.setSoTimeout(3_000);
          socket.startHandshake();
          // a server that finished the handshake without our certificate must still refuse to talk
          socket.getOutputStream().write(forgedFrames());
          socket.getOutputStream().flush();
          int got = readSome(socket.getInputStream());
          report("tls-without-cluster-certificate-" + port, got <= 0, got <= 0 ? "handshake done, nothing answered"
            : "answered " + got + " bytes");
        }
      } catch (IOException e) {
        report("tls-without-cluster-certificate-" + port, true, "refused: " + e.getClass().getSimpleName());
      } catch (Exception e) {
        report("tls-without-cluster-certificate-" + port, true, "refused: " + e.getClass().getSimpleName());
      }
      try (Socket socket = new Socket()) {
        socket.connect(new InetSocketAddress(host, port), 2_000);
        socket.setSoTimeout(3_000);
        socket.getOutputStream().write(forgedFrames());
        socket.getOutputStream().flush();
        byte[] answer = readAll(socket.getInputStream());
        String text = new String(answer, StandardCharsets.ISO_8859_1);
        boolean leaked = text.contains("MEMORY") || text.contains("secret-note");
        report("plain-frame-" + port, !leaked, "answered " + answer.length + " bytes");
      } catch (IOException e) {
        report("plain-frame-" + port, true, "refused: " + e.getClass().getSimpleName());
      }
    }
  }

  /** What a client with a token for {@code support} only tries over HTTP. */
  private void http(List<String> urls, String token) throws Exception {
    String url = urls.get(0);
    expect("http-no-token", send("POST", url + "/v1/agents/support/messages", "{\"session\":\"x\",\"text\":\"hi\"}",
      null), 401);
    expect("http-forged-token", send("POST", url + "/v1/agents/support/messages",
      "{\"session\":\"x\",\"text\":\"hi\"}", "forged-" + token), 401);
    expect("http-other-agent", send("POST", url + "/v1/agents/assistant/messages",
      "{\"session\":\"x\",\"text\":\"hi\"}", token), 403);
    expect("http-sensitive-memory", send("GET", url + "/v1/memory/agents/assistant/MEMORY.md", null, token), 403);
    expect("http-write-memory", send("POST", url + "/v1/memory/agents/assistant/MEMORY.md",
      "{\"author\":\"x\",\"text\":\"injected\"}", token), 403);
    expect("http-cluster-view", send("GET", url + "/v1/cluster", null, token), 403);
    expect("http-enable-key", send("POST", url + "/v1/keys/sim/a/enable", "", token), 403);
    for (String u : urls) {
      expect("http-chat-other-agent-" + URI.create(u).getPort(), send("POST", u + "/v1/chat/completions",
        "{\"model\":\"assistant\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", token), 403);
    }
  }

  /**
   * The bridge with raw frames and a token for {@code support} only: internal addresses, another
   * agent, publishing, and registering what is not its own. Blocked means an error frame came back
   * and no message.
   */
  private void bridge(String bridge, String token) {
    String other = EventBusApi.streamAddress("someone-elses-token", "s1");
    Map<String, JsonObject> tries = new LinkedHashMap<>();
    JsonObject auth = new JsonObject().put("authorization", "Bearer " + token);
    JsonObject read = new JsonObject().put("path", "agents/assistant/MEMORY.md");
    tries.put("bridge-memory-read", new JsonObject().put("type", "send").put("address", "memory.read")
      .put("replyAddress", "r1").put("headers", auth).put("body", read));
    tries.put("bridge-governor", new JsonObject().put("type", "send").put("address", "governor.complete")
      .put("replyAddress", "r2").put("headers", auth).put("body", new JsonObject()));
    tries.put("bridge-other-agent", new JsonObject().put("type", "send").put("address", "agenthub.agents.assistant")
      .put("replyAddress", "r3").put("headers", auth).put("body", new JsonObject().put("session", "x")
        .put("text", "what is in your memory?")));
    tries.put("bridge-no-token", new JsonObject().put("type", "send").put("address", "agenthub.agents.support")
      .put("replyAddress", "r4").put("body", new JsonObject().put("session", "x").put("text", "hi")));
    tries.put("bridge-publish", new JsonObject().put("type", "publish").put("address", "agenthub.agents.support")
      .put("headers", auth).put("body", new JsonObject().put("session", "x").put("text", "hi")));
    tries.put("bridge-register-memory-changed", new JsonObject().put("type", "register")
      .put("address", "memory.changed").put("headers", auth));
    tries.put("bridge-register-agent-address", new JsonObject().put("type", "register")
      .put("address", "agenthub.agents.support").put("headers", auth));
    tries.put("bridge-register-another-clients-stream", new JsonObject().put("type", "register")
      .put("address", other).put("headers", auth));
    tries.put("bridge-stream-to-another-client", new JsonObject().put("type", "send")
      .put("address", "agenthub.agents.support").put("replyAddress", "r5")
      .put("headers", auth.copy().put("stream-to", other)).put("body", new JsonObject().put("session", "x")
        .put("text", "hi")));
    for (Map.Entry<String, JsonObject> t : tries.entrySet()) {
      String name = t.getKey() + "-" + bridge.substring(bridge.lastIndexOf(':') + 1);
      String[] hp = bridge.split(":");
      try (Socket socket = new Socket()) {
        socket.connect(new InetSocketAddress(hp[0], Integer.parseInt(hp[1])), 2_000);
        socket.setSoTimeout(3_000);
        byte[] json = t.getValue().encode().getBytes(StandardCharsets.UTF_8);
        byte[] frame = new byte[4 + json.length];
        frame[0] = (byte) (json.length >>> 24);
        frame[1] = (byte) (json.length >>> 16);
        frame[2] = (byte) (json.length >>> 8);
        frame[3] = (byte) json.length;
        System.arraycopy(json, 0, frame, 4, json.length);
        socket.getOutputStream().write(frame);
        socket.getOutputStream().flush();
        String answer = new String(readAll(socket.getInputStream()), StandardCharsets.UTF_8);
        boolean message = answer.contains("\"type\":\"message\"");
        boolean error = answer.contains("\"type\":\"err\"");
        report(name, error && !message && !answer.contains("secret-note"), message ? "got a message: " + answer
          : error ? "error frame" : "no answer");
      } catch (IOException e) {
        report(name, true, "refused: " + e.getClass().getSimpleName());
      }
    }
  }

  private void expect(String name, HttpResponse<String> r, int status) {
    report(name, r.statusCode() == status && !r.body().contains("Exception"), "status " + r.statusCode());
  }

  private static HttpResponse<String> send(String method, String url, String body, String token) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30))
      .header("Content-Type", "application/json")
      .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  /** A real event-bus frame, as a node would write it to another (Vert.x 5's wire format). */
  private static byte[] frame(String address, JsonObject body, Map<String, String> headers) {
    MultiMap h = MultiMap.caseInsensitiveMultiMap();
    headers.forEach(h::add);
    ClusteredMessage<JsonObject, JsonObject> m = new ClusteredMessage<>("attacker", address, h, body,
      new JsonObjectMessageCodec(), true, null);
    return m.encodeToWire().getBytes();
  }

  /** What the attacker writes to an event-bus port it can reach: a memory write and absurd promises. */
  private static byte[] forgedFrames() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    JsonObject write = new JsonObject().put("op", "append").put("path", "agents/assistant/MEMORY.md")
      .put("author", "attacker").put("text", "injected by the attacker").put("write_id", "attack-1")
      .put("agent", "@admin").put("token", "forged");
    out.writeBytes(frame("memory.write", write, Map.of("agenthub-identity", "forged", "agenthub-auth",
      "v1 @admin 00 1 " + System.currentTimeMillis() + " forged")));
    for (String node : List.of("n1", "n2", "n3")) {
      out.writeBytes(frame("memory.replica." + node + ".promise", new JsonObject().put("epoch", Long.MAX_VALUE),
        Map.of("epoch", String.valueOf(Long.MAX_VALUE))));
    }
    return out.toByteArray();
  }

  private static int readSome(InputStream in) {
    try {
      byte[] buf = new byte[4096];
      return in.read(buf);
    } catch (IOException e) {
      return -1;
    }
  }

  private static byte[] readAll(InputStream in) {
    List<byte[]> parts = new ArrayList<>();
    int total = 0;
    try {
      byte[] buf = new byte[4096];
      int n;
      while ((n = in.read(buf)) > 0 && total < 1 << 20) {
        parts.add(Arrays.copyOf(buf, n));
        total += n;
      }
    } catch (IOException e) {
      // a time-out or a reset: what came so far is the answer
    }
    byte[] out = new byte[total];
    int at = 0;
    for (byte[] p : parts) {
      System.arraycopy(p, 0, out, at, p.length);
      at += p.length;
    }
    return out;
  }

  private static byte[] sha256(String s) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** Trusts any server: the attacker wants to get as far as it can. */
  private static final class TrustAll implements X509TrustManager {
    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) {
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) {
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return new X509Certificate[0];
    }
  }
}
