package dev.agenthub.hub.gateway;

import dev.agenthub.hub.HubNode;
import dev.agenthub.hub.TestHub;
import dev.agenthub.testing.Fixtures;
import dev.agenthub.testing.HubYaml;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetClientOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What a bridge connection may cost, tried with raw frames over real TCP on loopback: a frame is
 * judged by its length before its body is read, a connection has a deadline for its first frame and
 * for each frame it begins, and bad frames are answered without harming anything.
 */
class BridgeLimitsTest {

  private static final Duration WAIT = Duration.ofSeconds(60);
  private static Vertx app;
  private static HubNode node;
  private static int bridgePort;

  @BeforeAll
  static void start() throws Exception {
    bridgePort = Fixtures.freePort();
    // short connection deadlines (1 s) so that the tests see them; no clients: loopback only
    node = TestHub.start(HubYaml.yamlWithNode("node: { name: bl1, http: { port: 0, header-timeout: 1s, "
      + "body-timeout: 1s }, bridge: { port: " + bridgePort + " } }\n", 0, ""));
    app = Vertx.vertx();
  }

  @AfterAll
  static void stop() throws Exception {
    TestHub.close(app, node);
  }

  /** A plain connection to the node's bridge. */
  private static BridgeSocket connect() throws Exception {
    return new BridgeSocket(app, new NetClientOptions(), bridgePort);
  }

  private static int failureCode(JsonObject frame) {
    assertThat(frame.getString("type")).as(frame.encode()).isEqualTo("err");
    return frame.getInteger("failureCode");
  }

  @Test
  void aFrameAnnouncingMoreThanTheLimitIsRefusedBeforeItsBodyIsRead() throws Exception {
    BridgeSocket raw = connect();
    try {
      // 100 MiB announced, a few bytes sent: the node answers and hangs up without waiting for the rest
      raw.bytes(Buffer.buffer().appendInt(100 * 1024 * 1024).appendString("{\"type\":"), false);
      JsonObject refused = raw.next();
      assertThat(failureCode(refused)).isEqualTo(413);
      assertThat(new JsonObject(refused.getString("message")).getJsonObject("error").getString("type"))
        .isEqualTo("request_too_large");
      raw.awaitClosed("the connection that announced 100 MiB is closed");
      // a negative length (0x80000000 and above) too
      BridgeSocket negative = connect();
      negative.bytes(Buffer.buffer().appendInt(0xFFFFFFF0), false);
      assertThat(failureCode(negative.next())).isEqualTo(413);
      negative.awaitClosed("the connection that announced a negative length is closed");
    } finally {
      raw.socket.close();
    }
  }

  @Test
  void aConnectionThatSendsNothingIsClosedAfterTheHeaderTimeout() throws Exception {
    BridgeSocket silent = connect();
    silent.awaitClosed("the silent connection is closed");
    assertThat(failureCode(silent.next())).isEqualTo(408);
    // half a length is no frame either
    BridgeSocket halting = connect();
    halting.bytes(Buffer.buffer().appendShort((short) 0), false);
    halting.awaitClosed("the connection that sent half a length is closed");
  }

  @Test
  void aFrameBegunMustArriveWholeButAConnectionThatSentOneMayWaitForItsNext() throws Exception {
    BridgeSocket raw = connect();
    try {
      raw.pingPong();
      // well past the first-frame deadline (1 s): a connection that sent a frame is not closed for it
      Thread.sleep(3_000);
      raw.pingPong();
      assertThat(raw.closed).isFalse();
      // a frame of 100 bytes of which 10 come: closed once the frame deadline (1 s) passes
      raw.bytes(Buffer.buffer().appendInt(100).appendString("{\"type\":\"p"), false);
      raw.awaitClosed("the connection with a frame begun and not finished is closed");
      assertThat(failureCode(raw.next())).isEqualTo(408);
    } finally {
      raw.socket.close();
    }
  }

  @Test
  void badFramesAreAnsweredAndBreakNothing() throws Exception {
    BridgeSocket bad = connect();
    BridgeSocket good = connect();
    try {
      good.pingPong();
      bad.bytes(Buffer.buffer("{not json"), true);
      bad.bytes(Buffer.buffer("[1,2,3]"), true);
      bad.bytes(Buffer.buffer(new byte[]{(byte) 0xC3, (byte) 0x28, (byte) 0xFF}), true);
      bad.write(new JsonObject().put("type", "nope").put("address", "agenthub.agents.support"));
      bad.write(new JsonObject().put("address", "agenthub.agents.support"));
      bad.bytes(Buffer.buffer().appendInt(0), false); // an empty frame
      for (int i = 0; i < 6; i++) {
        JsonObject err = bad.next();
        assertThat(failureCode(err)).as(err.encode()).isEqualTo(400);
        assertThat(err.containsKey("address")).isFalse();
      }
      // both connections still work
      bad.pingPong();
      good.pingPong();
      assertThat(bad.closed).isFalse();
      assertThat(good.closed).isFalse();
    } finally {
      bad.socket.close();
      good.socket.close();
    }
  }
}
