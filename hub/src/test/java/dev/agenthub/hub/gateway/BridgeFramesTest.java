package dev.agenthub.hub.gateway;

import dev.agenthub.protocol.Failure;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The bridge's wire format, without a network. */
class BridgeFramesTest {

  @Test
  void aFrameIsItsLengthThenItsJson() {
    Buffer bytes = BridgeFrames.encode(new JsonObject().put("type", "pong").put("text", "é"));
    assertThat(bytes.getInt(0)).isEqualTo(bytes.length() - 4);
    assertThat(BridgeFrames.decode(bytes.getBuffer(4, bytes.length()))).isEqualTo(new JsonObject()
      .put("type", "pong").put("text", "é"));
  }

  @Test
  void onlyAJsonObjectOfAKnownTypeIsAFrame() {
    for (String bad : List.of("{not json", "[1]", "null", "42", "\"s\"", "{}x", "[".repeat(5000))) {
      assertThat(BridgeFrames.decode(Buffer.buffer(bad))).as(bad).isNull();
    }
    assertThat(BridgeFrames.Type.of("send")).isEqualTo(BridgeFrames.Type.SEND);
    assertThat(BridgeFrames.Type.of("ping")).isEqualTo(BridgeFrames.Type.PING);
    assertThat(BridgeFrames.Type.of("message")).isNull();
    assertThat(BridgeFrames.Type.of(null)).isNull();
    assertThat(BridgeFrames.Type.of(7)).isNull();
  }

  @Test
  void theLimitIsTheHttpBodyLimitAndAnEnvelope() {
    assertThat(BridgeFrames.maxFrameBytes(1024 * 1024)).isEqualTo(1024 * 1024 + BridgeFrames.ENVELOPE_BYTES);
    assertThat(BridgeFrames.maxFrameBytes(Long.MAX_VALUE)).isEqualTo(Integer.MAX_VALUE);
  }

  @Test
  void errFramesNameTheRequestTheyAnswer() {
    JsonObject answer = BridgeFrames.err("r1", "agenthub.agents.ops", new Failure(Failure.Kind.FORBIDDEN, "no"));
    assertThat(answer.getString("address")).isEqualTo("r1");
    assertThat(answer.getString("sourceAddress")).isEqualTo("agenthub.agents.ops");
    assertThat(answer.getInteger("failureCode")).isEqualTo(403);
    assertThat(answer.getString("failureType")).isEqualTo("RECIPIENT_FAILURE");
    assertThat(new JsonObject(answer.getString("message")).getJsonObject("error").getString("type"))
      .isEqualTo("permission_error");
    assertThat(BridgeFrames.err(null, "x", Failure.of(Failure.Kind.BAD_REQUEST, "bad")).fieldNames())
      .containsExactlyInAnyOrder("type", "failureCode", "failureType", "message");
  }

  @Test
  void aRequestsHeadersAreReadAsTheVertxBridgeReadsThem() {
    DeliveryOptions options = BridgeFrames.delivery(new JsonObject().put("authorization", "Bearer t")
      .put("localOnly", true).put("timeout", 5_000L).put(BridgeGuard.DOOR_HEADER, "bridge"));
    assertThat(options.isLocalOnly()).isTrue();
    assertThat(options.getSendTimeout()).isEqualTo(5_000L);
    assertThat(options.getHeaders().get("authorization")).isEqualTo("Bearer t");
    assertThat(options.getHeaders().names()).containsExactlyInAnyOrder("authorization", BridgeGuard.DOOR_HEADER);
    JsonObject message = BridgeFrames.message("r1", Map.of("v", "1").entrySet(), new JsonObject().put("a", 1), true);
    assertThat(message).isEqualTo(new JsonObject().put("type", "message").put("address", "r1")
      .put("headers", new JsonObject().put("v", "1")).put("body", new JsonObject().put("a", 1)).put("send", true));
  }
}
