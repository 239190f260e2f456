package dev.agenthub.hub.memory;

import dev.agenthub.hub.HubNode;
import dev.agenthub.hub.TestHub;
import dev.agenthub.memory.MemoryClient;
import dev.agenthub.protocol.Failure;
import dev.agenthub.protocol.ModelCall;
import dev.agenthub.protocol.Priority;
import dev.agenthub.testing.Fixtures;
import dev.agenthub.testing.HubYaml;

import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Shared memory inside a real node: access rules, admin routes, change events, the directory lock. */
class SharedMemoryTest {

  private static HubNode node;
  private static Path dir;

  @BeforeAll
  static void start() throws Exception {
    dir = Fixtures.freshDir();
    node = TestHub.start(HubYaml.yamlWithNode(HubYaml.node("mem1", "general"), 0, HubYaml.memoryYaml(dir))
      .replace("- { id: ops, models: { routine: sim-small, complex: sim-large } }",
        "- { id: ops, models: { routine: sim-small }, memory: { read: [shared], write: [shared/ops] } }")
      .replace("- { id: support, instances: 2,", "- { id: support, instances: 2, memory: { read: [shared], write: [shared] },"));
  }

  @AfterAll
  static void stop() throws Exception {
    node.close().await(1, TimeUnit.MINUTES);
  }

  private static <T> T await(Future<T> f) throws Exception {
    return f.await(30, TimeUnit.SECONDS);
  }

  private static Failure.Kind failure(Future<?> f) {
    try {
      f.await(30, TimeUnit.SECONDS);
      throw new AssertionError("expected a refusal");
    } catch (Failure e) {
      return e.kind();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void agentsReachTheirOwnFilesAndTheNamespacesTheirConfigLists() throws Exception {
    MemoryClient support = new MemoryClient(node.vertx(), node.signer("support"), 10_000);
    MemoryClient ops = new MemoryClient(node.vertx(), node.signer("ops"), 10_000);
    MemoryClient assistant = new MemoryClient(node.vertx(), node.signer("assistant"), 10_000);

    await(support.append("shared/notes.md", "support", "Printer on floor 2 is broken"));
    await(support.append("agents/support/MEMORY.md", "support", "customer 7 prefers phone"));
    await(assistant.append("agents/assistant/MEMORY.md", "assistant", "private diary"));
    await(ops.append("shared/ops/runbook.md", "ops", "restart with care"));

    assertThat(await(ops.read("shared/notes.md"))).contains("Printer on floor 2");
    assertThat(failure(ops.append("shared/notes.md", "ops", "not mine to write"))).isEqualTo(Failure.Kind.FORBIDDEN);
    assertThat(failure(support.read("agents/assistant/MEMORY.md"))).isEqualTo(Failure.Kind.FORBIDDEN);
    assertThat(failure(assistant.read("shared/notes.md"))).isEqualTo(Failure.Kind.FORBIDDEN);
    assertThat(failure(support.append("agents/ops/MEMORY.md", "support", "x"))).isEqualTo(Failure.Kind.FORBIDDEN);
    assertThat(failure(new MemoryClient(node.vertx(), node.signer("intruder"), 5_000).read("shared/notes.md")))
      .isEqualTo(Failure.Kind.FORBIDDEN);
    assertThat(failure(support.read("shared/../agents/assistant/MEMORY.md"))).isEqualTo(Failure.Kind.BAD_REQUEST);

    JsonObject hits = await(assistant.search("diary", false, null));
    assertThat(hits.getJsonArray("hits")).hasSize(1);
    assertThat(await(support.search("diary", false, null)).getJsonArray("hits")).isEmpty();
    assertThat(await(support.list("")).getJsonArray("files").stream().map(f -> ((JsonObject) f).getString("path")))
      .contains("shared/notes.md", "agents/support/MEMORY.md").doesNotContain("agents/assistant/MEMORY.md");

    assertThat(TestHub.get(node.url() + "/metrics").body()).contains("agenthub_refused_total{reason=\"memory_access\"}");
  }

  @Test
  void aForgedOrMissingIdentityIsRefused() throws Exception {
    // assistant's key signs as assistant, who may not read shared/ (support may)
    MemoryClient other = new MemoryClient(node.vertx(), node.signer("assistant"), 5_000);
    assertThat(failure(other.read("shared/notes.md"))).isEqualTo(Failure.Kind.FORBIDDEN);
    MemoryClient missing = new MemoryClient(node.vertx(), "support", 5_000);
    assertThat(failure(missing.append("shared/notes.md", "support", "x"))).isEqualTo(Failure.Kind.FORBIDDEN);
    JsonObject call = new ModelCall.Request("support", "sim-small", new JsonArray()
      .add(new JsonObject().put("role", "user").put("content", "hi")), new JsonArray(), 10,
      Priority.INTERACTIVE).toJson();
    assertThatThrownBy(() -> node.vertx().eventBus().request(ModelCall.ADDRESS, call)
      .await(10, TimeUnit.SECONDS)).as("unsigned").hasMessageContaining("not signed by agent 'support'");
    assertThatThrownBy(() -> node.vertx().eventBus().request(ModelCall.ADDRESS, call,
        node.signer("ops").sign(ModelCall.ADDRESS, call, null)).await(10, TimeUnit.SECONDS))
      .as("signed by another agent").hasMessageContaining("not signed by agent 'support'");
    assertThat(TestHub.get(node.url() + "/metrics").body()).contains("agenthub_refused_total{reason=\"identity\"}");
  }

  @Test
  void everyDurableWriteIsAnnounced() throws Exception {
    CompletableFuture<JsonObject> changed = new CompletableFuture<>();
    var consumer = node.vertx().eventBus().<JsonObject>consumer("memory.changed", m -> {
      if (m.body().getString("path").equals("shared/announced.md")) {
        changed.complete(m.body());
      }
    });
    await(consumer.completion());
    JsonObject written = await(new MemoryClient(node.vertx(), node.signer("support"), 10_000)
      .append("shared/announced.md", "support", "hello"));
    JsonObject event = changed.get(30, TimeUnit.SECONDS);
    assertThat(event.getLong("bytes")).isEqualTo(written.getLong("bytes"));
    assertThat(Files.readString(dir.resolve("shared/announced.md"))).contains("hello");
    await(consumer.unregister());
  }

  @Test
  void theAdminRoutes() throws Exception {
    HttpResponse<String> post = TestHub.post(node.url() + "/v1/memory/shared/admin.md",
      "{\"author\":\"operator\",\"text\":\"first line\"}");
    assertThat(post.statusCode()).as(post.body()).isEqualTo(200);
    JsonObject ack = new JsonObject(post.body());
    assertThat(ack.getString("path")).isEqualTo("shared/admin.md");
    assertThat(ack.getLong("bytes")).isEqualTo(Files.size(dir.resolve("shared/admin.md")));

    HttpResponse<String> read = TestHub.get(node.url() + "/v1/memory/shared/admin.md");
    assertThat(read.statusCode()).isEqualTo(200);
    assertThat(read.headers().firstValue("content-type")).hasValueSatisfying(v -> assertThat(v).startsWith("text/markdown"));
    assertThat(read.body()).contains("operator\n\nfirst line");

    HttpResponse<String> put = TestHub.send("PUT", node.url() + "/v1/memory/shared/admin.md", "# Replaced\n");
    assertThat(put.statusCode()).isEqualTo(200);
    assertThat(TestHub.get(node.url() + "/v1/memory/shared/admin.md").body()).isEqualTo("# Replaced\n");

    JsonObject list = new JsonObject(TestHub.get(node.url() + "/v1/memory?prefix=shared/").body());
    assertThat(list.getJsonArray("files").stream().map(f -> ((JsonObject) f).getString("path"))).contains("shared/admin.md");
    assertThat(list.getJsonArray("files").getJsonObject(0).getLong("bytes")).isPositive();

    for (String bad : new String[]{"shared/..%2F..%2Fetc%2Fpasswd.md", "shared/notes.txt", ".agenthub/epoch.md",
      "shared/%2e%2e/x.md"}) {
      HttpResponse<String> r = TestHub.post(node.url() + "/v1/memory/" + bad, "{\"author\":\"a\",\"text\":\"x\"}");
      assertThat(r.statusCode()).as(bad + " " + r.body()).isIn(400, 404);
      assertThat(new JsonObject(r.body()).getJsonObject("error")).isNotNull();
    }
    assertThat(TestHub.get(node.url() + "/v1/memory/shared/missing.md").statusCode()).isEqualTo(404);
    assertThat(TestHub.post(node.url() + "/v1/memory/shared/admin.md", "{\"text\":\"no author\"}").statusCode())
      .isEqualTo(400);
    assertThat(TestHub.get(node.url() + "/metrics").body()).contains("agenthub_memory_write_seconds_count");
    JsonObject cluster = new JsonObject(TestHub.get(node.url() + "/v1/cluster").body());
    assertThat(cluster.getJsonObject("memory").getString("writer")).isEqualTo("mem1");
  }

  @Test
  void aSecondStandaloneNodeOnTheSameDirectoryRefusesToStart() {
    assertThatThrownBy(() -> TestHub.start(HubYaml.yamlWithNode(HubYaml.node("mem2", "general"), 0,
      HubYaml.memoryYaml(dir))))
      .hasMessageContaining("memory directory " + dir)
      .hasMessageContaining("in use by node mem1");
  }

  @Test
  void aNewerSessionClaimFencesTheOlderOne() throws Exception {
    MemoryClient one = new MemoryClient(node.vertx(), node.signer("support"), 10_000);
    MemoryClient two = new MemoryClient(node.vertx(), node.signer("support"), 10_000);
    String path = "agents/support/sessions/claimed.md";
    JsonObject first = await(one.claim(path));
    assertThat(first.getString("text")).isEmpty(); // a new session: nothing to read back, still claimed
    await(one.append(path, "user", "hello from the first owner", "c-1", first.getString("claim")));
    // the session moves: the new owner's read sees everything written before its claim
    JsonObject second = await(two.claim(path));
    assertThat(second.getString("text")).contains("hello from the first owner");
    assertThat(failure(one.append(path, "assistant", "late answer of the old owner", "c-2", first.getString("claim"))))
      .isEqualTo(Failure.Kind.FENCED);
    await(two.append(path, "assistant", "answer of the new owner", "c-3", second.getString("claim")));
    // a claim of another writer (before a takeover or a restart) must be taken again, not trusted
    assertThat(failure(two.append(path, "user", "again", "c-4", "1.1"))).isEqualTo(Failure.Kind.STALE_CLAIM);
    assertThat(failure(two.append(path, "user", "again", "c-5", "not-a-claim"))).isEqualTo(Failure.Kind.BAD_REQUEST);
    // claiming is writing: an agent cannot claim what it may not write
    MemoryClient ops = new MemoryClient(node.vertx(), node.signer("ops"), 10_000);
    assertThat(failure(ops.claim(path))).isEqualTo(Failure.Kind.FORBIDDEN);
    String text = Files.readString(dir.resolve(path));
    assertThat(text).contains("answer of the new owner").doesNotContain("late answer");
  }
}
