package dev.agenthub.hub.gateway;

import dev.agenthub.client.AgentHubClient;
import dev.agenthub.client.AgentHubException;
import dev.agenthub.client.Reply;
import dev.agenthub.hub.HubNode;
import dev.agenthub.hub.TestHub;
import dev.agenthub.protocol.EventBusApi;
import dev.agenthub.testing.Fixtures;
import dev.agenthub.testing.HubYaml;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The bridge attacked with raw frames over real TCP (TLS): only a request to an agent the token
 * allows gets through; internal addresses, publishing and other clients' stream addresses are
 * refused. Then the client library over it, and its failover between two nodes' bridges.
 */
class BridgeDoorTest {

  private static final Duration WAIT = Duration.ofSeconds(60);
  private static Vertx app;
  private static HubNode node;
  private static int bridgePort;
  private static Path[] cert;

  private static String sha256(String s) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
  }

  private static String clients() throws Exception {
    return """
      clients:
        - { id: app, token-sha256: %s, agents: [support] }
        - { id: admin, token-sha256: %s, agents: "*", admin: true }
      """.formatted(sha256("app-token"), sha256("admin-token"));
  }

  @BeforeAll
  static void start() throws Exception {
    cert = Fixtures.certificate("bridge");
    bridgePort = Fixtures.freePort();
    node = TestHub.start(HubYaml.yamlWithNode("node: { name: br1, http: { port: 0 }, bridge: { port: " + bridgePort
      + ", tls: { cert: \"" + cert[0] + "\", key: \"" + cert[1] + "\" } } }\n", 60, clients()));
    app = Vertx.vertx();
  }

  @AfterAll
  static void stop() throws Exception {
    TestHub.close(app, node);
  }

  /** A raw bridge connection: frames out, frames in (a queue), as an attacker's own program would. */
  static final class Raw extends BridgeSocket {

    Raw(NetClientOptions options, int port) throws Exception {
      super(app, options, port);
    }

    static Raw tls(int port) throws Exception {
      return new Raw(new NetClientOptions().setSsl(true).setTrustOptions(new PemTrustOptions()
        .addCertPath(cert[0].toString())).setHostnameVerificationAlgorithm("HTTPS"), port);
    }

    /** Sends a request and answers the frame that answers it. */
    JsonObject request(String address, String token, JsonObject body) throws Exception {
      String reply = "r-" + UUID.randomUUID();
      JsonObject headers = new JsonObject();
      if (token != null) {
        headers.put("authorization", "Bearer " + token);
      }
      write(new JsonObject().put("type", "send").put("address", address).put("replyAddress", reply)
        .put("headers", headers).put("body", body));
      return nextTo(reply);
    }

    /** Pings and drops every frame up to the pong: what was answered before is read. */
    void sync() throws Exception {
      write(new JsonObject().put("type", "ping"));
      while (!"pong".equals(next().getString("type"))) {
        // earlier frames: not this check's
      }
    }

    void close() {
      socket.close();
    }
  }

  private static JsonObject message(String session) {
    return new JsonObject().put("session", session).put("text", "hello over the bridge");
  }

  private static int failureCode(JsonObject frame) {
    assertThat(frame.getString("type")).as(frame.encode()).isEqualTo("err");
    return frame.getInteger("failureCode");
  }

  @Test
  void everyMessageNeedsATokenThatMayUseTheAgentAsOnHttp() throws Exception {
    Raw raw = Raw.tls(bridgePort);
    try {
      JsonObject noToken = raw.request("agenthub.agents.support", null, message("b1"));
      assertThat(failureCode(noToken)).isEqualTo(401);
      assertThat(new JsonObject(noToken.getString("message")).getJsonObject("error").getString("type"))
        .isEqualTo("authentication_error");
      assertThat(failureCode(raw.request("agenthub.agents.support", "guessed-token", message("b1")))).isEqualTo(401);
      JsonObject other = raw.request("agenthub.agents.ops", "app-token", message("b1"));
      assertThat(failureCode(other)).isEqualTo(403);
      assertThat(other.getString("message")).contains("may not use agent 'ops'").doesNotContain("app-token");

      JsonObject ok = raw.request("agenthub.agents.support", "app-token", message("b1"));
      assertThat(ok.getString("type")).as(ok.encode()).isEqualTo("message");
      assertThat(ok.getJsonObject("body").getString("agent")).isEqualTo("support");
      assertThat(ok.getJsonObject("body").getString("reply")).isNotBlank();
      assertThat(ok.getJsonObject("headers").getString(EventBusApi.VERSION_HEADER)).isEqualTo("1");
    } finally {
      raw.close();
    }
  }

  @Test
  void nothingInternalCanBeSentToOrPublishedEvenWithTheAdminToken() throws Exception {
    Raw raw = Raw.tls(bridgePort);
    try {
      for (String internal : List.of("memory.read", "memory.write", "governor.complete", "agent.support.0@br1",
        "ledger.record", "hub.delegate", "memory.replica.snapshot")) {
        JsonObject answer = raw.request(internal, "admin-token", new JsonObject().put("path", "shared/x.md"));
        assertThat(failureCode(answer)).as(internal).isEqualTo(403);
      }
      JsonObject unknown = raw.request("agenthub.agents.nobody", "admin-token", message("u"));
      assertThat(failureCode(unknown)).isEqualTo(404);
      raw.sync();
      // publishing is refused, to agents' addresses too; and a request without a reply address
      raw.write(new JsonObject().put("type", "publish").put("address", "agenthub.agents.support")
        .put("headers", new JsonObject().put("authorization", "Bearer admin-token")).put("body", message("p")));
      assertThat(raw.next().getString("type")).isEqualTo("err");
      raw.write(new JsonObject().put("type", "send").put("address", "memory.write")
        .put("headers", new JsonObject().put("authorization", "Bearer admin-token")).put("body", new JsonObject()));
      assertThat(raw.next().getString("type")).isEqualTo("err");
      // a frame that is not JSON is answered 400, and breaks nothing
      byte[] garbage = "{not json".getBytes(StandardCharsets.UTF_8);
      raw.socket.write(Buffer.buffer().appendInt(garbage.length).appendBytes(garbage)).await(1, TimeUnit.MINUTES);
      assertThat(failureCode(raw.next())).isEqualTo(400);
      // the connection still works for what is allowed
      raw.write(new JsonObject().put("type", "ping"));
      assertThat(raw.next().getString("type")).isEqualTo("pong");
    } finally {
      raw.close();
    }
  }

  @Test
  void aClientRegistersOnlyItsOwnStreamAddressAndDeltasGoNowhereElse() throws Exception {
    Raw raw = Raw.tls(bridgePort);
    JsonObject auth = new JsonObject().put("authorization", "Bearer app-token");
    try {
      for (String address : List.of("memory.changed", "ledger.usage", "agenthub.agents.support",
        EventBusApi.streamAddress("admin-token", "x1"), "agenthub.stream.0000000000000000.x1")) {
        raw.write(new JsonObject().put("type", "register").put("address", address).put("headers", auth));
        JsonObject refused = raw.next();
        assertThat(refused.getString("type")).as(address).isEqualTo("err");
      }
      String mine = EventBusApi.streamAddress("app-token", "s1");
      raw.write(new JsonObject().put("type", "register").put("address", mine).put("headers", auth));
      raw.write(new JsonObject().put("type", "ping"));
      assertThat(raw.next().getString("type")).as("its own address is not refused").isEqualTo("pong");
      // once per connection, and a few only: each is a consumer in the cluster
      raw.write(new JsonObject().put("type", "register").put("address", mine).put("headers", auth));
      assertThat(raw.next().getString("type")).isEqualTo("err");
      for (int i = 0; i < 7; i++) {
        raw.write(new JsonObject().put("type", "register").put("address", EventBusApi.streamAddress("app-token", "x" + i))
          .put("headers", auth));
      }
      raw.write(new JsonObject().put("type", "ping"));
      assertThat(raw.next().getString("type")).as("eight stream addresses are not refused").isEqualTo("pong");
      raw.write(new JsonObject().put("type", "register").put("address", EventBusApi.streamAddress("app-token", "x9"))
        .put("headers", auth));
      assertThat(raw.next().getString("type")).as("the ninth stream address").isEqualTo("err");
      // the deltas come to the client's own address, then the reply
      String reply = "r-" + UUID.randomUUID();
      raw.write(new JsonObject().put("type", "send").put("address", "agenthub.agents.support").put("replyAddress", reply)
        .put("headers", auth.copy().put("stream-to", mine).put("stream-id", "one")).put("body", message("b2")));
      StringBuilder text = new StringBuilder();
      JsonObject frame;
      while (!reply.equals((frame = raw.next()).getString("address"))) {
        assertThat(frame.getString("type")).as(frame.encode()).isIn("message", "pong");
        assertThat(frame.getString("address")).isEqualTo(mine);
        assertThat(frame.getJsonObject("headers").getString("stream-id")).isEqualTo("one");
        text.append(frame.getJsonObject("body").getString("text"));
      }
      assertThat(frame.getString("type")).as(frame.encode()).isEqualTo("message");
      assertThat(text.toString()).isEqualTo(frame.getJsonObject("body").getString("reply"));

      // naming another client's address (or an internal one) for the deltas is refused
      for (String target : List.of(EventBusApi.streamAddress("admin-token", "s1"), "memory.write")) {
        JsonObject answer = raw.request("agenthub.agents.support", "app-token", message("b3"));
        assertThat(answer.getString("type")).isEqualTo("message");
        String r = "r-" + UUID.randomUUID();
        raw.write(new JsonObject().put("type", "send").put("address", "agenthub.agents.support").put("replyAddress", r)
          .put("headers", auth.copy().put("stream-to", target)).put("body", message("b3")));
        assertThat(failureCode(raw.nextTo(r))).as(target).isEqualTo(403);
      }
    } finally {
      raw.close();
    }
  }

  @Test
  void aClientWithoutTlsGetsNothingFromATlsBridge() throws Exception {
    Raw plain = new Raw(new NetClientOptions(), bridgePort);
    try {
      plain.write(new JsonObject().put("type", "send").put("address", "agenthub.agents.support")
        .put("replyAddress", "r1").put("headers", new JsonObject().put("authorization", "Bearer app-token"))
        .put("body", message("plain")));
      Fixtures.await("the TLS bridge drops the plain connection", WAIT, plain.closed::get);
      assertThat(plain.frames).as("not one frame answered in clear").isEmpty();
    } finally {
      plain.close();
    }
  }

  @Test
  void theClientLibrarySendsAndStreamsOverTheBridge() throws Exception {
    AgentHubClient hub = AgentHubClient.create(app, new AgentHubClient.Options()
      .setBridges(List.of("127.0.0.1:" + bridgePort)).setToken("app-token").setCaFile(cert[0].toString()));
    try {
      Reply reply = hub.send("support", "lib-1", "Where is my parcel?").await(1, TimeUnit.MINUTES);
      assertThat(reply.agent()).isEqualTo("support");
      assertThat(reply.text()).isNotBlank();
      assertThatThrownBy(() -> hub.send("ops", "lib-1", "hi").await(1, TimeUnit.MINUTES))
        .isInstanceOfSatisfying(AgentHubException.class, e -> {
          assertThat(e.status()).isEqualTo(403);
          assertThat(e.type()).isEqualTo("permission_error");
        });
      AgentHubClient.DeltaStream stream = hub.stream("support", new AgentHubClient.Request("lib-2", "Tell me more"));
      StringBuilder text = new StringBuilder();
      stream.handler(text::append);
      Reply streamed = stream.reply().await(1, TimeUnit.MINUTES);
      Fixtures.await("every piece arrived", WAIT, () -> text.toString().equals(streamed.text()));
    } finally {
      hub.close().await(1, TimeUnit.MINUTES);
    }
  }

  @Test
  void aBridgeWithACaAsksForTheApplicationsCertificate() throws Exception {
    Path[] appCert = Fixtures.certificate("app");
    Path[] nodeCert = Fixtures.certificate("br-ca");
    int port = Fixtures.freePort();
    // the application's self-signed certificate is its own CA here
    HubNode strict = TestHub.start(HubYaml.yamlWithNode("node: { name: br2, http: { port: 0 }, bridge: { port: " + port
      + ", tls: { cert: \"" + nodeCert[0] + "\", key: \"" + nodeCert[1] + "\", ca: \"" + appCert[0] + "\" } } }\n", 20,
      clients()));
    try {
      AgentHubClient without = AgentHubClient.create(app, new AgentHubClient.Options().setTimeoutMs(5_000)
        .setBridges(List.of("127.0.0.1:" + port)).setToken("app-token").setCaFile(nodeCert[0].toString()));
      assertThatThrownBy(() -> without.send("support", "ca-1", "hi").await(1, TimeUnit.MINUTES))
        // TLS 1.3: the handshake ends before the bridge checks the certificate and hangs up, so the client
        // sees a connection that closes rather than one refused
        .isInstanceOfSatisfying(AgentHubException.class, e -> assertThat(e.status()).isIn(503, 504));
      without.close().await(1, TimeUnit.MINUTES);
      Raw raw = new Raw(new NetClientOptions().setSsl(true).setTrustOptions(new PemTrustOptions()
        .addCertPath(nodeCert[0].toString())).setHostnameVerificationAlgorithm("HTTPS").setKeyCertOptions(new PemKeyCertOptions()
        .setCertPath(appCert[0].toString()).setKeyPath(appCert[1].toString())), port);
      try {
        assertThat(raw.request("agenthub.agents.support", "app-token", message("ca-2")).getString("type"))
          .isEqualTo("message");
      } finally {
        raw.close();
      }
      AgentHubClient with = AgentHubClient.create(app, new AgentHubClient.Options()
        .setBridges(List.of("127.0.0.1:" + port)).setToken("app-token").setCaFile(nodeCert[0].toString())
        .setCertificate(appCert[0].toString(), appCert[1].toString()));
      assertThat(with.send("support", "ca-3", "hi").await(1, TimeUnit.MINUTES).text()).isNotBlank();
      with.close().await(1, TimeUnit.MINUTES);
    } finally {
      strict.close().await(2, TimeUnit.MINUTES);
    }
  }

  @Test
  void theClientFailsOverToAnotherNodesBridgeWhenItsNodeStops() throws Exception {
    String cluster = "bridge-" + UUID.randomUUID();
    int base = Fixtures.randomBasePort();
    int portA = Fixtures.freePort();
    int portB = Fixtures.freePort();
    String extra = HubYaml.clusterYaml(cluster, base) + HubYaml.memoryYaml(Fixtures.freshDir()) + clients();
    HubNode b = TestHub.start(HubYaml.yamlWithNode("node: { name: fo-b, http: { port: 0 }, bridge: { port: " + portB
      + " } }\n", 200, extra));
    HubNode a = null;
    AgentHubClient hub = null;
    try {
      a = TestHub.start(HubYaml.yamlWithNode("node: { name: fo-a, http: { port: 0 }, bridge: { port: " + portA
        + " } }\n", 200, extra));
      Fixtures.await("both nodes list each other's bridge", WAIT, () -> bridges(b).equals(List.of("127.0.0.1:" + portA,
        "127.0.0.1:" + portB)));
      hub = AgentHubClient.create(app, new AgentHubClient.Options().setToken("app-token")
        .setBridges(List.of("127.0.0.1:" + portA, "127.0.0.1:" + portB)));
      assertThat(hub.send("support", "fo-0", "first").await(1, TimeUnit.MINUTES).text()).isNotBlank();
      List<Future<Reply>> replies = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        replies.add(hub.send("support", "fo-" + (i % 5), "during the stop " + i));
      }
      a.close().await(2, TimeUnit.MINUTES);
      a = null;
      for (int i = 0; i < 10; i++) {
        replies.add(hub.send("support", "fo-" + (i % 5), "after the stop " + i));
      }
      Future.join(replies).await(2, TimeUnit.MINUTES);
      for (Future<Reply> r : replies) {
        assertThat(r.succeeded()).as(String.valueOf(r.cause())).isTrue();
      }
    } finally {
      if (hub != null) {
        hub.close().await(1, TimeUnit.MINUTES);
      }
      if (a != null) {
        a.close().await(2, TimeUnit.MINUTES);
      }
      b.close().await(2, TimeUnit.MINUTES);
    }
  }

  private static List<String> bridges(HubNode node) {
    try {
      JsonArray nodes = new JsonObject(TestHub.get(node.url() + "/v1/cluster", "admin-token").body())
        .getJsonArray("nodes");
      List<String> out = new ArrayList<>();
      for (int i = 0; i < nodes.size(); i++) {
        out.add(nodes.getJsonObject(i).getString("bridge"));
      }
      return out;
    } catch (Exception e) {
      return List.of();
    }
  }
}
