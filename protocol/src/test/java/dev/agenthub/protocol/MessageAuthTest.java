package dev.agenthub.protocol;


import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

class MessageAuthTest {

  private static final byte[] SECRET = "a-cluster-secret".getBytes(StandardCharsets.UTF_8);
  private final AtomicLong now = new AtomicLong(1_800_000_000_000L);
  private final MessageAuth.Verifier verifier = new MessageAuth.Verifier(SECRET, now::get);
  private final MessageAuth.Signer agent = new MessageAuth.Signer("support", MessageAuth.key(SECRET, "support"),
    now::get);

  private static MultiMap headers(String value) {
    return MultiMap.caseInsensitiveMultiMap().add(MessageAuth.HEADER, value);
  }

  @Test
  void aSignedMessageNamesItsPrincipalOnceAndOnlyOnItsAddress() {
    JsonObject body = new JsonObject().put("path", "agents/support/MEMORY.md").put("text", "hello");
    String header = agent.header("memory.write", body);
    assertThat(header).doesNotContain(Base64.getUrlEncoder().withoutPadding().encodeToString(MessageAuth.key(SECRET, "support")));

    assertThat(verifier.verify("memory.read", headers(header), body)).as("another address").isNull();
    assertThat(verifier.verify("memory.write", headers(header), body.copy().put("text", "forged")))
      .as("another body").isNull();
    assertThat(verifier.verify("memory.write", headers(header.replace(" support ", " assistant ")), body))
      .as("another principal").isNull();
    assertThat(verifier.verify("memory.write", headers(header), body.copy())).isEqualTo("support");
    assertThat(verifier.verify("memory.write", headers(header), body)).as("replayed").isNull();
    assertThat(verifier.verify("memory.write", MultiMap.caseInsensitiveMultiMap(), body)).as("unsigned").isNull();
    assertThat(verifier.verify("memory.write", headers("v1 support x"), body)).as("malformed").isNull();
  }

  private static MultiMap copy(MultiMap headers) {
    return MultiMap.caseInsensitiveMultiMap().addAll(headers);
  }

  @Test
  void theHeadersAMessageMeansAreSignedWithIt() {
    JsonObject body = new JsonObject().put("session", "s1").put("text", "hi");
    String address = "agent.support.0@n1";
    MultiMap signed = agent.sign(address, body, new DeliveryOptions().addHeader("resend", "true")).getHeaders();
    assertThat(verifier.verify(address, copy(signed).add("cancel", "true"), body)).as("one added").isNull();
    assertThat(verifier.verify(address, copy(signed).set("resend", "false"), body)).as("one changed").isNull();
    assertThat(verifier.verify(address, copy(signed).remove("resend"), body)).as("one dropped").isNull();
    // what a tracer adds after the message was signed does not count
    assertThat(verifier.verify(address, copy(signed).add("traceparent",
      "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"), body)).isEqualTo("support");
  }

  @Test
  void aJsonBodySurvivesTheWire() {
    JsonObject body = new JsonObject().put("text", "ünïcode \"quoted\"\n").put("n", 3).put("cost", 2.085E-5)
      .put("big", Long.MAX_VALUE).put("nested", new JsonObject().put("a", true)).putNull("none");
    String header = agent.header("agent.support.0@n1", body);
    JsonObject decoded = new JsonObject(body.toBuffer());
    assertThat(verifier.verify("agent.support.0@n1", headers(header), decoded)).isEqualTo("support");
    assertThat(verifier.verify("x", headers(agent.header("x", "text")), "text")).isEqualTo("support");
  }

  @Test
  void aMessageIsRefusedAfterTheWindowAndAKeyFromAnotherSecretSignsNothing() {
    String late = agent.header("ledger.record", "row");
    now.addAndGet(MessageAuth.WINDOW_MS + 1);
    assertThat(verifier.verify("ledger.record", headers(late), "row")).isNull();

    String early = new MessageAuth.Signer("support", MessageAuth.key(SECRET, "support"),
      () -> now.get() + MessageAuth.SKEW_MS + 1000).header("ledger.record", "row");
    assertThat(verifier.verify("ledger.record", headers(early), "row")).as("from the future").isNull();

    MessageAuth.Signer stranger = new MessageAuth.Signer("support",
      MessageAuth.key("another".getBytes(StandardCharsets.UTF_8), "support"), now::get);
    assertThat(verifier.verify("ledger.record", headers(stranger.header("ledger.record", "row")), "row")).isNull();
  }

  @Test
  void messagesArrivingOutOfOrderAreEachTakenOnce() {
    String[] sent = new String[200];
    for (int i = 0; i < sent.length; i++) {
      sent[i] = agent.header("a", "m");
    }
    for (int i = sent.length - 1; i >= 0; i -= 2) {
      assertThat(verifier.verify("a", headers(sent[i]), "m")).isEqualTo("support");
    }
    for (int i = 0; i < sent.length; i += 2) {
      assertThat(verifier.verify("a", headers(sent[i]), "m")).isEqualTo("support");
    }
    for (String h : sent) {
      assertThat(verifier.verify("a", headers(h), "m")).isNull();
    }
  }

  @Test
  void aLocalSignatureCountsOnlyWhereLocalConsumersAskForItAndStillOnceOnItsAddress() {
    JsonObject body = new JsonObject().put("messages", new JsonArray().add("a"));
    String header = agent.signLocal("governor.complete", null).getHeaders().get(MessageAuth.HEADER);
    assertThat(header).startsWith("v1L support ");
    // delivered to this process's handlers only: such a signature never reaches the wire
    assertThat(agent.signLocal("governor.complete", null).isLocalOnly()).isTrue();
    Message<Object> onCluster = message("governor.complete", header, body);
    assertThat(verifier.verify(onCluster)).as("a cluster-wide consumer").isNull();
    assertThat(verifier.verifyLocal(message("governor.cancel", header, body))).as("another address").isNull();
    assertThat(verifier.verifyLocal(message("governor.complete", header.replace(" support ", " ops "), body)))
      .as("another principal").isNull();
    assertThat(verifier.verifyLocal(onCluster)).isEqualTo("support");
    assertThat(verifier.verifyLocal(onCluster)).as("replayed").isNull();
    String full = agent.header("governor.complete", body);
    assertThat(verifier.verifyLocal(message("governor.complete", full, body))).as("a full signature too")
      .isEqualTo("support");
  }

  private static Message<Object> message(String address, String header, Object body) {
    MultiMap headers = headers(header);
    return new Message<>() {
      public String address() {
        return address;
      }

      public MultiMap headers() {
        return headers;
      }

      public Object body() {
        return body;
      }

      public String replyAddress() {
        return null;
      }

      public boolean isSend() {
        return true;
      }

      public void reply(Object message, DeliveryOptions options) {
      }

      public <R> Future<Message<R>> replyAndRequest(Object message, DeliveryOptions options) {
        return Future.failedFuture("none");
      }
    };
  }

  @Test
  void sendersGoneQuietAreForgotten() {
    verifier.verify("a", headers(agent.header("a", "m")), "m");
    assertThat(verifier.senders()).isEqualTo(1);
    now.addAndGet(2 * (MessageAuth.WINDOW_MS + MessageAuth.SKEW_MS));
    MessageAuth.Signer other = new MessageAuth.Signer("ops", MessageAuth.key(SECRET, "ops"), now::get);
    assertThat(verifier.verify("a", headers(other.header("a", "m")), "m")).isEqualTo("ops");
    assertThat(verifier.senders()).isEqualTo(1);
  }

  @Test
  void recordSignaturesCheckTheirText() {
    byte[] key = MessageAuth.key(SECRET, "memory.in-sync");
    String sig = MessageAuth.sign(key, "7|m1|m2,m3");
    assertThat(MessageAuth.verify(key, "7|m1|m2,m3", sig)).isTrue();
    assertThat(MessageAuth.verify(key, "8|m1|m2,m3", sig)).isFalse();
    assertThat(MessageAuth.verify(key, "7|m1|m2,m3", null)).isFalse();
  }

  @Test
  void aLocalSignatureCountsOnlyOnTheNodeThatMadeItAndCannotBeRelabelled() {
    byte[] secret = "local-signature-test-secret".getBytes(StandardCharsets.UTF_8);
    byte[] mine = MessageAuth.newLocalKey();
    MessageAuth.Signer signer = MessageAuth.Signer.of(secret, "support", mine);
    JsonObject body = new JsonObject().put("session", "s1");
    String header = signer.signLocal("memory.write", null).getHeaders().get(MessageAuth.HEADER);
    // another node (another local key), even in this process, refuses it
    assertThat(new MessageAuth.Verifier(secret, MessageAuth.newLocalKey())
      .verifyLocal(message("memory.write", header, body))).isNull();
    // relabelled as a full signature, it is refused everywhere; and a full one relabelled local too
    assertThat(new MessageAuth.Verifier(secret, mine).verifyLocal(message("memory.write",
      header.replaceFirst("^v1L ", "v1 "), body))).isNull();
    String full = signer.sign("memory.write", body, null).getHeaders().get(MessageAuth.HEADER);
    assertThat(new MessageAuth.Verifier(secret, mine).verifyLocal(message("memory.write",
      full.replaceFirst("^v1 ", "v1L "), body))).isNull();
    // on its own node, once
    MessageAuth.Verifier own = new MessageAuth.Verifier(secret, mine);
    assertThat(own.verifyLocal(message("memory.write", header, body))).isEqualTo("support");
    assertThat(own.verifyLocal(message("memory.write", header, body))).as("replayed").isNull();
    assertThat(own.verify(message("memory.write", header, body))).as("a strict verify takes none").isNull();
  }
}
