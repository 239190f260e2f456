package dev.agenthub.memory;

import dev.agenthub.protocol.Failure;
import dev.agenthub.protocol.MessageAuth;

import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

/**
 * Requests to a real memory writer on a real Vert.x, as an attacker on the event bus would send them:
 * who asks is the principal that signed the request, and a request is taken once, on its own
 * address, within its window.
 */
class MemoryTrustTest {

  private static final byte[] SECRET = "memory-trust-test".getBytes(StandardCharsets.UTF_8);

  @TempDir
  Path dir;
  private Vertx vertx;
  private final List<String> refusals = new CopyOnWriteArrayList<>();

  @BeforeEach
  void writer() throws Exception {
    vertx = Vertx.vertx();
    MemoryPolicy policy = new MemoryPolicy(Map.of(
      "support", new MemoryPolicy.Access(List.of("shared"), List.of("shared")),
      "assistant", new MemoryPolicy.Access(List.of(), List.of())));
    SharedMemoryVerticle writer = new SharedMemoryVerticle(dir, MarkdownStore.Options.defaults(), policy, "n1", false,
      new SharedMemoryVerticle.Listener() {
        @Override
        public void refused(String agent, String op) {
          refusals.add(op);
        }
      }, SECRET);
    vertx.deployVerticle(writer).await(30, TimeUnit.SECONDS);
  }

  @AfterEach
  void close() throws Exception {
    vertx.close().await(30, TimeUnit.SECONDS);
  }

  private int status(String address, JsonObject body, DeliveryOptions options) {
    Throwable err = catchThrowable(() -> vertx.eventBus().request(address, body, options).await(30, TimeUnit.SECONDS));
    return err instanceof ReplyException re ? re.failureCode() : err == null ? 200 : -1;
  }

  private static DeliveryOptions with(String header) {
    return new DeliveryOptions().addHeader(MessageAuth.HEADER, header);
  }

  @Test
  void onlyTheSignerOfARequestIsWhoAsksAndASignatureIsTakenOnceOnItsAddressInItsWindow() throws Exception {
    MessageAuth.Signer support = MessageAuth.Signer.of(SECRET, "support");
    MessageAuth.Signer assistant = MessageAuth.Signer.of(SECRET, "assistant");
    int refused = Failure.Kind.FORBIDDEN.status();

    // the legit path: support appends to shared/, signed by its own key
    new MemoryClient(vertx, support, 10_000).append("shared/notes.md", "support", "the truth").await(30, TimeUnit.SECONDS);
    new MemoryClient(vertx, assistant, 10_000).append("agents/assistant/MEMORY.md", "assistant", "private")
      .await(30, TimeUnit.SECONDS);

    JsonObject write = new JsonObject().put("op", "append").put("path", "shared/notes.md").put("author", "mallory")
      .put("text", "forged").put("write_id", "w-1");
    assertThat(status(MemoryAddresses.WRITE, write, new DeliveryOptions())).as("unsigned").isEqualTo(refused);
    assertThat(status(MemoryAddresses.WRITE, write.copy().put("agent", "support"), new DeliveryOptions()))
      .as("unsigned, naming an agent").isEqualTo(refused);
    MessageAuth.Signer stranger = MessageAuth.Signer.of("another-secret".getBytes(StandardCharsets.UTF_8), "support");
    assertThat(status(MemoryAddresses.WRITE, write, stranger.sign(MemoryAddresses.WRITE, write, null)))
      .as("signed under another secret").isEqualTo(refused);

    // support claims to be assistant: in the header (the MAC breaks) or in the body (ignored: support's rules apply)
    JsonObject diary = new JsonObject().put("path", "agents/assistant/MEMORY.md");
    String supportHeader = support.header(MemoryAddresses.READ, diary);
    assertThat(status(MemoryAddresses.READ, diary, with(supportHeader.replace(" support ", " assistant "))))
      .as("principal rewritten").isEqualTo(refused);
    assertThat(status(MemoryAddresses.READ, diary.copy().put("agent", "assistant"),
      support.sign(MemoryAddresses.READ, diary.copy().put("agent", "assistant"), null))).as("body names another agent")
      .isEqualTo(refused);

    // a sniffed message: taken once; not on another address; not with another body
    JsonObject legit = new JsonObject().put("op", "append").put("path", "shared/notes.md").put("author", "support")
      .put("text", "once").put("write_id", "w-2");
    String sniffed = support.header(MemoryAddresses.WRITE, legit);
    assertThat(status(MemoryAddresses.WRITE, legit, with(sniffed))).as("the original").isEqualTo(200);
    assertThat(status(MemoryAddresses.WRITE, legit.copy().put("write_id", "w-3"), with(sniffed)))
      .as("replayed with another write id").isEqualTo(refused);
    assertThat(status(MemoryAddresses.WRITE, legit, with(sniffed))).as("replayed as it was").isEqualTo(refused);
    JsonObject read = new JsonObject().put("path", "shared/notes.md");
    String sniffedRead = support.header(MemoryAddresses.READ, read);
    assertThat(status(MemoryAddresses.LIST, read, with(sniffedRead))).as("replayed on another address")
      .isEqualTo(refused);
    assertThat(status(MemoryAddresses.READ_ANY, read, with(sniffedRead))).as("replayed on another address")
      .isEqualTo(refused);
    assertThat(status(MemoryAddresses.READ, read, with(sniffedRead))).as("its own address, first time").isEqualTo(200);

    // signed longer ago than the window (as a message held back and replayed later would be)
    MessageAuth.Signer late = new MessageAuth.Signer("support", MessageAuth.key(SECRET, "support"),
      () -> System.currentTimeMillis() - MessageAuth.WINDOW_MS - 1_000);
    assertThat(status(MemoryAddresses.READ, read, late.sign(MemoryAddresses.READ, read, null)))
      .as("older than the window").isEqualTo(refused);

    assertThat(Files.readString(dir.resolve("shared/notes.md"))).contains("the truth", "once").doesNotContain("forged")
      .containsOnlyOnce("once");
    assertThat(refusals.stream().filter("identity"::equals).count()).as("refusals counted as identity")
      .isEqualTo(9);
    assertThat(refusals).contains("read"); // support reading assistant's diary: its own rules, refused
  }
}
