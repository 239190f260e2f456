package dev.agenthub.hub;

import dev.agenthub.client.AgentHubClient;
import dev.agenthub.client.Reply;
import dev.agenthub.devtools.mock.MockLlm;
import dev.agenthub.devtools.platforms.TelegramStandIn;
import dev.agenthub.hub.cluster.NodeEntry;
import dev.agenthub.hub.cluster.RendezvousRouter;
import dev.agenthub.testing.Fixtures;
import dev.agenthub.testing.NpmPeers;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/** The fat jar as separate JVMs: three clustered nodes, a SIGKILL, a SIGTERM, bad starts. */
class ProcessIT {

  private static final List<String> AGENTS = List.of("support", "ops", "assistant");
  private final List<Process> processes = new ArrayList<>();
  private final Path work = Path.of("target", "process-it", UUID.randomUUID().toString().substring(0, 8));

  @AfterEach
  void killAll() {
    processes.forEach(Process::destroyForcibly);
  }

  private Process launch(String name, Map<String, String> env, String... args) throws IOException {
    Process p = TestHub.launch(work, name, env, args);
    processes.add(p);
    return p;
  }

  @Test
  void theProductJarHoldsNoToolClasses() throws Exception {
    try (var jar = new JarFile(TestHub.productJar())) {
      List<String> ours = jar.stream().map(JarEntry::getName)
        .filter(n -> n.startsWith("dev/agenthub/") && n.endsWith(".class")).toList();
      assertThat(ours).isNotEmpty().noneMatch(n -> n.startsWith("dev/agenthub/tools/"))
        .noneMatch(n -> n.contains("/Mock") || n.contains("Bench") || n.contains("/bench/"));
    }
  }

  @Test
  void threeNodesAnswerForEveryAgentAndSurviveAKill() throws Exception {
    Map<String, String> env = clusterEnv("memory");
    int[] ports = {freePort(), freePort(), freePort()};
    int[] bridges = {freePort(), freePort(), freePort()};
    for (int i = 0; i < 3; i++) {
      launch("p" + (i + 1), env, "--cluster", "--node", "p" + (i + 1), "--http-port", String.valueOf(ports[i]),
        "--bridge-port", String.valueOf(bridges[i]));
    }
    for (int port : ports) {
      Fixtures.await("node on " + port + " sees 3 nodes and is ready", Duration.ofMinutes(2),
        () -> nodes(port) == 3 && ready(port));
      JsonObject cluster = new JsonObject(TestHub.get(url(port) + "/v1/cluster").body());
      assertThat(cluster.getJsonArray("nodes").stream().map(n -> ((JsonObject) n).getString("name")))
        .containsExactly("p1", "p2", "p3");
      // support 2 instances, ops 1, assistant 1, spread over the three nodes
      assertThat(cluster.getJsonArray("placements")).hasSize(4);
    }
    for (int port : ports) {
      for (String agent : AGENTS) {
        for (int s = 0; s < 4; s++) {
          assertThat(message(port, agent, "s" + s).statusCode()).isEqualTo(200);
        }
      }
    }

    // not on a terminal and no AGENTHUB_LOG_FORMAT: the logs are JSON lines an aggregator can read
    List<String> logLines = Files.readAllLines(work.resolve("p1.err"));
    assertThat(logLines).isNotEmpty().allSatisfy(line -> {
      JsonObject log = new JsonObject(line);
      assertThat(log.getString("node")).isEqualTo("p1");
      assertThat(log.fieldNames()).contains("time", "level", "logger", "message");
    });

    // a Vert.x application of the user's own (examples/eventbus-app), nothing of the project on its
    // classpath but the fat jar, no member of the cluster: through the nodes' bridges (each listed in
    // /v1/cluster) it sends 200 messages and streams one answer
    assertThat(new JsonObject(TestHub.get(url(ports[0]) + "/v1/cluster").body()).getJsonArray("nodes").stream()
      .map(n -> ((JsonObject) n).getString("bridge")))
      .containsExactly("127.0.0.1:" + bridges[0], "127.0.0.1:" + bridges[1], "127.0.0.1:" + bridges[2]);
    List<String> app = List.of(Fixtures.javaBin(), "-Xmx256m", "-cp", TestHub.productJar() + File.pathSeparator + exampleJar(),
      "dev.agenthub.examples.EventBusApp", "--bridge", "127.0.0.1:" + bridges[0] + ",127.0.0.1:" + bridges[1]
        + ",127.0.0.1:" + bridges[2], "--agent", "support", "--messages", "200");
    Process application = new ProcessBuilder(app).directory(work.toFile()).redirectErrorStream(true)
      .redirectOutput(work.resolve("app.out").toFile()).start();
    processes.add(application);
    assertThat(application.waitFor(3, TimeUnit.MINUTES)).as("the application finishes").isTrue();
    String appOut = Files.readString(work.resolve("app.out"));
    assertThat(application.exitValue()).as(appOut).isZero();
    assertThat(appOut).contains("answered 200 of 200 messages").contains("streamed ");
    assertThat(nodes(ports[0])).as("the application was never a node").isEqualTo(3);

    processes.get(1).destroyForcibly(); // SIGKILL p2
    for (int port : new int[]{ports[0], ports[2]}) {
      Fixtures.await("node on " + port + " notices the kill", Duration.ofMinutes(1), () -> nodes(port) == 2);
      for (String agent : AGENTS) {
        for (int s = 0; s < 8; s++) {
          HttpResponse<String> r = message(port, agent, "after-kill-" + s);
          assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
          assertThat(new JsonObject(r.body()).getString("node")).isIn("p1", "p3");
        }
      }
    }

    Process p3 = processes.get(2);
    p3.destroy(); // SIGTERM: a clean leave
    assertThat(p3.waitFor(1, TimeUnit.MINUTES)).as("p3 exits after SIGTERM").isTrue();
    Fixtures.await("p1 sees p3 leave", Duration.ofMinutes(1), () -> nodes(ports[0]) == 1);
    assertThat(Files.readString(work.resolve("p3.out"))).contains("agenthub node p3 stopped");
    assertThat(Files.readString(work.resolve("p3.err"))).doesNotContain("did not stop cleanly");
    assertThat(p3.exitValue()).as("the exit status of a JVM ended by SIGTERM").isEqualTo(143);
    assertThat(message(ports[0], "support", "last").statusCode()).isEqualTo(200);
  }

  @Test
  void concurrentAppendsSurviveTheWritersSigkillAndAStandbyTakesOver() throws Exception {
    Map<String, String> env = clusterEnv("shared-memory");
    int[] ports = {freePort(), freePort(), freePort()};
    for (int i = 0; i < 3; i++) {
      launch("m" + (i + 1), env, "--cluster", "--node", "m" + (i + 1), "--http-port", String.valueOf(ports[i]));
    }
    for (int port : ports) {
      Fixtures.await("node on " + port + " sees 3 nodes and a writer", Duration.ofMinutes(2),
        () -> nodes(port) == 3 && writer(port) != null);
    }
    String firstWriter = writer(ports[0]);
    int victim = Integer.parseInt(firstWriter.substring(1)) - 1;

    AppendLoad load = AppendLoad.start(ports, victim, i -> "shared/load.md");
    Fixtures.await("some appends acknowledged", Duration.ofMinutes(2), () -> load.acked.size() >= 300);
    load.killAndWait(processes.get(victim)); // SIGKILL the writer's node mid-load
    int survivor = victim == 0 ? 1 : 0;
    Fixtures.await("a standby is the writer", Duration.ofMinutes(1),
      () -> writer(ports[survivor]) != null && !firstWriter.equals(writer(ports[survivor])));
    assertThat(load.failedOnSurvivors.get()).as("appends through surviving gateways all acknowledged").isZero();

    Map<String, Integer> seen = new HashMap<>();
    wholeEntries(TestHub.get(url(ports[survivor]) + "/v1/memory/shared/load.md").body(), seen);
    assertThat(seen.values()).as("no entry twice").allMatch(n -> n == 1);
    assertThat(seen.keySet()).as("every acknowledged entry").containsAll(load.acked);
    assertThat(load.acked.size()).isGreaterThan(1200 - 4 * 150);

    // a standalone node pointed at the same directory refuses to start, naming it and its holder
    Process intruder = launch("intruder", Map.of("AGENTHUB_MEMORY_DIR", "shared-memory"),
      "--http-port", String.valueOf(freePort()));
    assertThat(intruder.waitFor(1, TimeUnit.MINUTES)).isTrue();
    assertThat(intruder.exitValue()).isEqualTo(1);
    assertThat(Files.readString(work.resolve("intruder.err")))
      .contains("memory directory").contains("shared-memory").contains("in use by node " + writer(ports[survivor]));
  }

  /**
   * Replicated memory as a new user would run it: three node JVMs, each with its own directory and
   * {@code memory.replicas: 3}; appends through all three; the writer SIGKILLed mid-load; every
   * acknowledged entry once on both survivors, whose files are identical; the killed node started
   * again on its old directory catches up to identical files.
   */
  @Test
  void replicatedMemorySurvivesTheWritersSigkillAndTheKilledNodeCatchesUp() throws Exception {
    Map<String, String> base = new HashMap<>(clusterEnv("unused"));
    base.put("AGENTHUB_MEMORY_REPLICAS", "3");
    int[] ports = {freePort(), freePort(), freePort()};
    List<Map<String, String>> envs = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      Map<String, String> env = new HashMap<>(base);
      env.put("AGENTHUB_MEMORY_DIR", "replica-r" + (i + 1));
      envs.add(env);
      launch("r" + (i + 1), env, "--cluster", "--node", "r" + (i + 1), "--http-port", String.valueOf(ports[i]));
    }
    for (int port : ports) {
      Fixtures.await("node on " + port + " sees a writer with two followers", Duration.ofMinutes(2),
        () -> nodes(port) == 3 && following(port) == 2);
    }
    String firstWriter = writer(ports[0]);
    int victim = Integer.parseInt(firstWriter.substring(1)) - 1;

    AppendLoad load = AppendLoad.start(ports, victim, i -> "shared/load-" + (i % 3) + ".md");
    Fixtures.await("some appends acknowledged", Duration.ofMinutes(2), () -> load.acked.size() >= 300);
    load.killAndWait(processes.get(victim)); // SIGKILL the writer mid-load
    int[] survivors = {ports[(victim + 1) % 3], ports[(victim + 2) % 3]};
    Fixtures.await("a survivor writes", Duration.ofMinutes(1),
      () -> writer(survivors[0]) != null && !firstWriter.equals(writer(survivors[0])));
    assertThat(load.failedOnSurvivors.get()).as("appends through surviving gateways all acknowledged").isZero();
    assertThat(load.acked.size()).isGreaterThan(1200 - 4 * 150);

    Path[] dirs = new Path[3];
    for (int i = 0; i < 3; i++) {
      dirs[i] = work.resolve("replica-r" + (i + 1));
    }
    int a = (victim + 1) % 3;
    int b = (victim + 2) % 3;
    Fixtures.await("the survivors' files identical", Duration.ofMinutes(1), () -> Fixtures.sameMemoryFiles(dirs[a], dirs[b]));
    for (int i : new int[] {a, b}) {
      Map<String, Integer> seen = new HashMap<>();
      for (int f = 0; f < 3; f++) {
        wholeEntries(Files.readString(dirs[i].resolve("shared/load-" + f + ".md")), seen);
      }
      assertThat(seen.values()).as("no entry twice on r" + (i + 1)).allMatch(n -> n == 1);
      assertThat(seen.keySet()).as("every acknowledged entry on r" + (i + 1)).containsAll(load.acked);
    }

    // the killed node, started again on its old directory, catches up
    launch("r" + (victim + 1) + "-again", envs.get(victim), "--cluster", "--node", "r" + (victim + 1), "--http-port",
      String.valueOf(freePort()));
    Fixtures.await("three replicas in sync again", Duration.ofMinutes(2), () -> following(survivors[0]) == 2);
    assertThat(TestHub.post(url(survivors[0]) + "/v1/memory/shared/after.md",
      new JsonObject().put("author", "c").put("text", "after the return").encode()).statusCode()).isEqualTo(200);
    Fixtures.await("the returned node's files identical", Duration.ofMinutes(1),
      () -> Fixtures.sameMemoryFiles(dirs[a], dirs[victim]) && Fixtures.sameMemoryFiles(dirs[b], dirs[victim]));

    // a follower SIGKILLed: it leaves the in-sync set and writes go on with the other copy
    String writerNow = writer(survivors[0]);
    int follower = a == Integer.parseInt(writerNow.substring(1)) - 1 ? b : a;
    // the other survivor's gateway stays up (the writer may be it, or the returned node)
    int alive = ports[follower == a ? b : a];
    processes.get(follower).destroyForcibly();
    for (int i = 0; i < 20; i++) {
      HttpResponse<String> r = TestHub.post(url(alive) + "/v1/memory/shared/after.md",
        new JsonObject().put("author", "c").put("text", "without r" + (follower + 1) + " " + i).encode());
      assertThat(r.statusCode()).as("append " + i + " with a follower gone: " + r.body()).isEqualTo(200);
    }
    Fixtures.await("one follower left in sync", Duration.ofMinutes(1), () -> following(alive) == 1);
  }

  /**
   * Twelve loops of 150 appends, four through each node's gateway, every text unique; what was
   * acknowledged, and what failed through a node other than {@code victim} (whose gateway dies with it).
   */
  private static final class AppendLoad {
    final Set<String> acked = ConcurrentHashMap.newKeySet();
    final AtomicInteger failedOnSurvivors = new AtomicInteger();
    private final AtomicBoolean killed = new AtomicBoolean();
    private final List<Thread> loops = new ArrayList<>();

    static AppendLoad start(int[] ports, int victim, IntFunction<String> file) {
      AppendLoad load = new AppendLoad();
      for (int n = 0; n < 3; n++) {
        for (int c = 0; c < 4; c++) {
          int node = n;
          String prefix = "n" + n + "c" + c + "-";
          Thread loop = new Thread(() -> {
            for (int i = 0; i < 150; i++) {
              String text = "load " + prefix + i;
              try {
                HttpResponse<String> r = TestHub.post(url(ports[node]) + "/v1/memory/" + file.apply(i),
                  new JsonObject().put("author", "c").put("text", text).encode());
                if (r.statusCode() == 200) {
                  load.acked.add(text);
                } else if (node != victim) {
                  load.failedOnSurvivors.incrementAndGet();
                }
              } catch (Exception e) {
                if (node == victim && load.killed.get()) {
                  return; // its gateway is gone with it
                }
                load.failedOnSurvivors.incrementAndGet();
              }
            }
          });
          loop.start();
          load.loops.add(loop);
        }
      }
      return load;
    }

    /** SIGKILLs the victim's JVM and waits for every loop to end. */
    void killAndWait(Process victim) throws InterruptedException {
      killed.set(true);
      victim.destroyForcibly();
      for (Thread loop : loops) {
        loop.join(TimeUnit.MINUTES.toMillis(3));
      }
    }
  }

  /** Checks that {@code text} is whole load entries only (none interleaved, no torn tail), counting each into {@code seen}. */
  private static void wholeEntries(String text, Map<String, Integer> seen) {
    Matcher m = Pattern.compile("## \\S+ c\n\n(load \\S+)\n\n").matcher(text);
    int pos = 0;
    while (m.find()) {
      assertThat(m.start()).as("whole entries only, none interleaved, at " + pos).isEqualTo(pos);
      seen.merge(m.group(1), 1, Integer::sum);
      pos = m.end();
    }
    assertThat(pos).as("no torn tail").isEqualTo(text.getBytes(StandardCharsets.UTF_8).length);
  }

  /** Followers the writer counts in sync, from {@code /v1/cluster}. */
  private static long following(int port) {
    try {
      JsonArray replicas = new JsonObject(TestHub.get(url(port) + "/v1/cluster").body()).getJsonObject("memory")
        .getJsonArray("replicas");
      return replicas == null ? -1 : replicas.stream().filter(r -> ((JsonObject) r).getString("state")
        .equals("following")).count();
    } catch (Exception e) {
      return -1;
    }
  }

  private static String writer(int port) {
    try {
      return new JsonObject(TestHub.get(url(port) + "/v1/cluster").body()).getJsonObject("memory").getString("writer");
    } catch (Exception e) {
      return null;
    }
  }

  @Test
  void threeNodesShareThreeKeysWithoutEverPushingTheProviderOver() throws Exception {
    Vertx mockVertx = Vertx.vertx();
    try {
      List<MockLlm.Key> keys = List.of(
        new MockLlm.Key("sk-pit-a", 600, 3_000_000),
        new MockLlm.Key("sk-pit-b", 600, 3_000_000),
        new MockLlm.Key("sk-pit-c", 600, 3_000_000));
      var mock = new MockLlm(mockVertx, 5, 0, keys);
      int mockPort = mock.listen("127.0.0.1", 0).await(30, TimeUnit.SECONDS);
      Files.createDirectories(work);
      StringBuilder keyYaml = new StringBuilder();
      for (var k : keys) {
        Path f = work.resolve(k.secret() + ".key");
        Files.writeString(f, k.secret());
        keyYaml.append(keyYaml.isEmpty() ? "" : ", ").append("{ id: ").append(k.secret().substring(7))
          .append(", secret-file: \"").append(f.toAbsolutePath()).append("\", rpm: 600, tpm: 3000000 }");
      }
      Path conf = work.resolve("hub.yaml");
      Files.writeString(conf, """
        providers:
          mock: { type: openai, base-url: "http://127.0.0.1:%d/v1", max-retries: 8, keys: [ %s ] }
        models:
          small: { provider: mock, name: gpt-4o-mini, input: 0.15, output: 0.60 }
        agents:
          - { id: support, models: { routine: small }, cache: false, limits: { max-concurrent: 256 } }
          - { id: ops, models: { routine: small }, cache: false, limits: { max-concurrent: 256 } }
          - { id: billing, models: { routine: small }, cache: false, limits: { max-concurrent: 256 } }
        """.formatted(mockPort, keyYaml));
      Map<String, String> env = clusterEnv("memory");
      int[] ports = {freePort(), freePort(), freePort()};
      for (int i = 0; i < 3; i++) {
        launch("g" + (i + 1), env, "--conf", conf.toAbsolutePath().toString(), "--cluster", "--node", "g" + (i + 1),
          "--http-port", String.valueOf(ports[i]));
      }
      for (int port : ports) {
        Fixtures.await("node on " + port + " is ready in a 3-node cluster", Duration.ofMinutes(2),
          () -> nodes(port) == 3 && ready(port));
      }
      AtomicInteger answered = new AtomicInteger();
      AtomicBoolean killed = new AtomicBoolean();
      List<Thread> loops = new ArrayList<>();
      String[] agents = {"support", "ops", "billing"};
      int perLoop = 12;
      for (int c = 0; c < 24; c++) {
        int loop = c;
        Thread t = new Thread(() -> {
          for (int i = 0; i < perLoop; i++) {
            String session = "gov-" + loop + "-" + i;
            // a client retries with the same idempotency key until it gets its answer, on a node still up
            for (int attempt = 0; attempt < 20; attempt++) {
              int node = (loop + attempt) % 3;
              if (node == 2 && killed.get()) {
                continue;
              }
              try {
                HttpResponse<String> r = TestHub.post(url(ports[node]) + "/v1/agents/" + agents[loop % 3] + "/messages",
                  new JsonObject().put("session", session).put("text", "load " + loop + "-" + i)
                    .put("idempotency_key", session).encode());
                if (r.statusCode() == 200) {
                  answered.incrementAndGet();
                  break;
                }
              } catch (Exception e) {
                // the node went away mid-request: retry elsewhere
              }
            }
          }
        });
        t.start();
        loops.add(t);
      }
      Fixtures.await("a third of the load answered", Duration.ofMinutes(2), () -> answered.get() >= 24 * perLoop / 3);
      killed.set(true);
      processes.get(2).destroyForcibly();
      for (Thread t : loops) {
        t.join(TimeUnit.MINUTES.toMillis(4));
      }
      JsonObject stats = mock.stats();
      assertThat(answered.get()).as("every message answered").isEqualTo(24 * perLoop);
      assertThat(stats.getLong("rate_limited")).as("429s from the provider").isZero();
      assertThat(stats.encode()).doesNotContain("sk-pit");
      for (int i = 0; i < 2; i++) {
        assertThat(TestHub.get(url(ports[i]) + "/metrics").body()).doesNotContain("sk-pit");
        assertThat(Files.readString(work.resolve("g" + (i + 1) + ".err"))).doesNotContain("sk-pit");
      }
    } finally {
      mockVertx.close().await(30, TimeUnit.SECONDS);
    }
  }

  @Test
  void aTurnWhoseNodeDiesIsAnsweredByTheNewOwnerAndARetryIsNotASecondTurn() throws Exception {
    Map<String, String> env = clusterEnv("memory");
    int[] ports = slowSupportCluster("f", env);
    List<NodeEntry.Placement> placements = placements(ports[0]);
    assertThat(placements).extracting(NodeEntry.Placement::node)
      .containsExactlyInAnyOrder("f1", "f2", "f3");
    List<String> onF2 = new ArrayList<>();
    for (int i = 0; onF2.size() < 6; i++) {
      String session = "fo-" + i;
      if (RendezvousRouter.rank(session, placements).get(0).node().equals("f2")) {
        onF2.add(session);
      }
    }

    // six turns running on f2, sent through f1's gateway; f2 dies under them
    List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
    for (String session : onF2) {
      calls.add(TestHub.HTTP.sendAsync(HttpRequest.newBuilder(URI.create(url(ports[0])
          + "/v1/agents/support/messages")).timeout(Duration.ofMinutes(2)).POST(HttpRequest.BodyPublishers
          .ofString(new JsonObject().put("session", session).put("text", "question for " + session).encode())).build(),
        HttpResponse.BodyHandlers.ofString()));
    }
    Fixtures.await("the turns are running on f2", Duration.ofSeconds(30),
      () -> metric(ports[1], "agenthub_queue_depth{agent=\"support\"}") >= 6);
    processes.get(1).destroyForcibly();
    for (var call : calls) {
      HttpResponse<String> r = call.get(2, TimeUnit.MINUTES);
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      assertThat(new JsonObject(r.body()).getString("node")).isIn("f1", "f3");
      // the new owner continued the turn: the model saw the question once (the sim counts user turns)
      assertThat(new JsonObject(r.body()).getString("reply")).doesNotContain("This is message 2");
    }
    // every resent turn is in its transcript once: one question, one answer
    for (String s : onF2) {
      String transcript = Files.readString(work.resolve("memory/agents/support/sessions/" + s + ".md"));
      assertThat(transcript.split(" user\n\nquestion for " + s + "\n", -1)).as(s + ": one user entry").hasSize(2);
      assertThat(transcript.split(" assistant\n\n", -1)).as(s + ": one answer").hasSize(2);
    }

    // a client whose gateway (f3) dies retries on f1 with its idempotency key: one turn, one answer
    Fixtures.await("f1 plans without f2", Duration.ofMinutes(1), () -> nodes(ports[0]) == 2);
    List<NodeEntry.Placement> now = new ArrayList<>();
    now.addAll(placements(ports[0]));
    String session = null;
    for (int i = 100; session == null; i++) {
      if (RendezvousRouter.rank("fo-" + i, now).get(0).node().equals("f1")) {
        session = "fo-" + i;
      }
    }
    String body = new JsonObject().put("session", session).put("text", "charge the card once")
      .put("idempotency_key", "pay-1").encode();
    CompletableFuture<HttpResponse<String>> first = TestHub.HTTP.sendAsync(
      HttpRequest.newBuilder(URI.create(url(ports[2]) + "/v1/agents/support/messages"))
        .timeout(Duration.ofMinutes(2)).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
      HttpResponse.BodyHandlers.ofString());
    Path transcriptFile = work.resolve("memory/agents/support/sessions/" + session + ".md");
    Fixtures.await("the turn is running on f1 (its user entry is in the transcript)", Duration.ofSeconds(30), () -> {
      if (first.isDone()) {
        throw new AssertionError("the first attempt ended early: " + first.join().statusCode() + " " + first.join().body());
      }
      try {
        return Files.exists(transcriptFile) && Files.readString(transcriptFile).contains("charge the card once");
      } catch (IOException e) {
        return false;
      }
    });
    processes.get(2).destroyForcibly();
    assertThat(first).failsWithin(Duration.ofMinutes(1));
    HttpResponse<String> retry = TestHub.post(url(ports[0]) + "/v1/agents/support/messages", body);
    assertThat(retry.statusCode()).as(retry.body()).isEqualTo(200);
    HttpResponse<String> again = TestHub.post(url(ports[0]) + "/v1/agents/support/messages", body);
    assertThat(again.body()).isEqualTo(retry.body());
    String transcript = Files.readString(work.resolve("memory/agents/support/sessions/" + session + ".md"));
    assertThat(new JsonObject(retry.body()).getString("node")).isEqualTo("f1");
    assertThat(transcript.split(" user\n\ncharge the card once", -1)).as("one user turn").hasSize(2);
    assertThat(transcript.split(" assistant\n\n", -1)).as("one answer").hasSize(2);
  }

  @Test
  void aMessageOnTheEventBusWhoseNodeDiesIsAnsweredByTheNewOwnerOnce() throws Exception {
    Map<String, String> env = clusterEnv("memory");
    int[] ports = slowSupportCluster("e", env);
    List<NodeEntry.Placement> placements = placements(ports[0]);
    List<String> onE2 = new ArrayList<>();
    for (int i = 0; onE2.size() < 6; i++) {
      String session = "eb-fo-" + i;
      if (RendezvousRouter.rank(session, placements).get(0).node().equals("e2")) {
        onE2.add(session);
      }
    }
    // an application on the event bus sends six messages whose sessions e2 owns (any node's door may
    // take each one, e2's included); e2 dies under them
    TestHub.LiteApp member = TestHub.liteMemberWithManager(env.get("AGENTHUB_CLUSTER_NAME"),
      Integer.parseInt(env.get("AGENTHUB_CLUSTER_PORT")));
    Vertx app = member.vertx();
    try {
      AgentHubClient hub = AgentHubClient.create(app,
        new AgentHubClient.Options().setTimeoutMs(120_000).setClusterManager(member.manager()));
      List<Future<Reply>> replies = new ArrayList<>();
      for (String session : onE2) {
        replies.add(hub.send("support", session, "question for " + session));
      }
      Fixtures.await("the turns are running on e2", Duration.ofSeconds(30),
        () -> metric(ports[1], "agenthub_queue_depth{agent=\"support\"}") >= 6);
      processes.get(1).destroyForcibly();
      for (var reply : replies) {
        Reply r = reply.await(2, TimeUnit.MINUTES);
        assertThat(r.json().getString("node")).isIn("e1", "e3");
        // the new owner continued the turn: the model saw the question once
        assertThat(r.text()).doesNotContain("This is message 2");
      }
      for (String s : onE2) {
        String transcript = Files.readString(work.resolve("memory/agents/support/sessions/" + s + ".md"));
        assertThat(transcript.split(" user\n\nquestion for " + s + "\n", -1)).as(s + ": one user entry").hasSize(2);
        assertThat(transcript.split(" assistant\n\n", -1)).as(s + ": one answer").hasSize(2);
      }
    } finally {
      app.close().await(1, TimeUnit.MINUTES);
    }
  }

  @Test
  void anApprovalIsDecidedAfterTheNodeThatPausedItWasKilled() throws Exception {
    Map<String, String> env = clusterEnv("memory");
    Files.createDirectories(work);
    Path conf = work.resolve("approval-kill.yaml");
    Files.writeString(conf, """
      providers: { sim: { type: sim, latency-ms: 0 } }
      models: { sim-small: { provider: sim } }
      mcp: { servers: { every: { command: [node, "%s", stdio], approve: [get-sum] } } }
      agents:
        - { id: support, models: { routine: sim-small }, skills: [mcp.every.*] }
      """.formatted(NpmPeers.script("@modelcontextprotocol/server-everything", "dist/index.js")));
    int[] ports = {freePort(), freePort()};
    for (int i = 0; i < 2; i++) {
      launch("a" + (i + 1), env, "--conf", conf.toAbsolutePath().toString(), "--cluster", "--node", "a" + (i + 1),
        "--http-port", String.valueOf(ports[i]));
    }
    for (int port : ports) {
      Fixtures.await("node on " + port + " is ready in a 2-node cluster", Duration.ofMinutes(2),
        () -> nodes(port) == 2 && ready(port));
    }
    HttpResponse<String> paused = TestHub.post(url(ports[0]) + "/v1/agents/support/messages",
      new JsonObject().put("session", "ak1").put("text", "/tool mcp.every.get-sum {\"a\": 2, \"b\": 3}").encode());
    assertThat(paused.statusCode()).as(paused.body()).isEqualTo(202);
    JsonObject waiting = new JsonObject(paused.body());
    String id = waiting.getJsonObject("approval").getString("id");
    int victim = waiting.getString("node").equals("a1") ? 0 : 1;
    int survivor = 1 - victim;
    processes.get(victim).destroyForcibly().waitFor(30, TimeUnit.SECONDS);
    Fixtures.await("the survivor alone", Duration.ofMinutes(1), () -> nodes(ports[survivor]) == 1);
    String[] reply = {null};
    Fixtures.await("the approval decided through the survivor", Duration.ofMinutes(2), () -> {
      HttpResponse<String> r;
      try {
        r = TestHub.post(url(ports[survivor]) + "/v1/approvals/" + id, "{\"decision\":\"approve\"}");
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
      if (r.statusCode() == 404) {
        throw new AssertionError("the approval died with its node: " + r.body());
      }
      if (r.statusCode() != 200) {
        throw new IllegalStateException("not yet: " + r.statusCode() + " " + r.body());
      }
      reply[0] = r.body();
      return true;
    });
    assertThat(new JsonObject(reply[0]).getString("reply")).contains("The sum of 2 and 3 is 5");
    assertThat(new JsonObject(reply[0]).getString("node")).isEqualTo("a" + (survivor + 1));
  }

  @Test
  void aChannelsMessagesAreAnsweredOnceWhenTheNodeWorkingOnThemIsKilledMidTurn() throws Exception {
    Vertx platform = Vertx.vertx();
    TelegramStandIn telegram = new TelegramStandIn(platform, "77:kill-token");
    try {
      String base = telegram.start().await(30, TimeUnit.SECONDS);
      Map<String, String> env = clusterEnv("memory");
      Files.createDirectories(work);
      Path conf = work.resolve("channel-kill.yaml");
      Files.writeString(conf, """
        providers: { sim: { type: sim, latency-ms: 3000 } }
        models: { sim-small: { provider: sim } }
        agents:
          - { id: support, instances: 3, models: { routine: sim-small }, cache: false }
        channels:
          - { id: tg, type: telegram, agent: support, token: "77:kill-token", mode: webhook, secret: "kill-secret",
              public-url: "https://hub.example", api-base: "%s" }
        """.formatted(base));
      int[] ports = {freePort(), freePort(), freePort()};
      for (int i = 0; i < 3; i++) {
        launch("k" + (i + 1), env, "--conf", conf.toAbsolutePath().toString(), "--cluster", "--node", "k" + (i + 1),
          "--http-port", String.valueOf(ports[i]));
      }
      for (int port : ports) {
        Fixtures.await("node on " + port + " is ready in a 3-node cluster", Duration.ofMinutes(2),
          () -> nodes(port) == 3 && ready(port));
      }
      // 30 chats' messages taken by k1, whose turns run 3 s; k1 dies before any is answered
      for (int i = 0; i < 30; i++) {
        JsonObject update = new JsonObject().put("update_id", 500 + i).put("message", new JsonObject()
          .put("message_id", i + 1).put("from", new JsonObject().put("id", 900 + i).put("is_bot", false))
          .put("chat", new JsonObject().put("id", 900 + i).put("type", "private")).put("date", 1_700_000_000)
          .put("text", "question " + i));
        HttpResponse<String> r = TestHub.HTTP.send(HttpRequest.newBuilder(URI.create(url(ports[0]) + "/channels/tg"))
          .header("Content-Type", "application/json").header("X-Telegram-Bot-Api-Secret-Token", "kill-secret")
          .POST(HttpRequest.BodyPublishers.ofString(update.encode())).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      }
      assertThat(telegram.sent()).as("nothing answered before the kill").isEmpty();
      processes.get(0).destroyForcibly().waitFor(30, TimeUnit.SECONDS);
      Fixtures.await("every chat answered", Duration.ofMinutes(3), () -> telegram.sent().stream()
        .map(m -> m.getValue("chat_id").toString()).distinct().count() == 30);
      Thread.sleep(5_000);
      Map<String, Long> perChat = new HashMap<>();
      telegram.sent().forEach(m -> perChat.merge(m.getValue("chat_id").toString(), 1L, Long::sum));
      assertThat(perChat).hasSize(30);
      assertThat(perChat.values()).as("replies per message").allMatch(n -> n == 1);
      assertThat(telegram.tooMany()).isZero();
    } finally {
      platform.close().await(30, TimeUnit.SECONDS);
    }
  }

  @Test
  void aRollingRestartUnderLoadFailsNoMessage() throws Exception {
    Files.createDirectories(work);
    Path conf = work.resolve("rolling.yaml");
    Files.writeString(conf, """
      providers: { sim: { type: sim, latency-ms: 200 } }
      models: { sim-small: { provider: sim, input: 0.15, output: 0.60 } }
      agents:
        - { id: support, instances: 3, models: { routine: sim-small }, cache: false }
        - { id: ops, instances: 2, models: { routine: sim-small }, cache: false }
      """);
    Map<String, String> env = clusterEnv("memory");
    int[] ports = {freePort(), freePort(), freePort()};
    Process[] nodes = new Process[3];
    for (int i = 0; i < 3; i++) {
      nodes[i] = launch("r" + (i + 1), env, "--conf", conf.toAbsolutePath().toString(), "--cluster", "--node",
        "r" + (i + 1), "--http-port", String.valueOf(ports[i]));
    }
    for (int port : ports) {
      Fixtures.await("node on " + port + " is ready", Duration.ofMinutes(2), () -> nodes(port) == 3 && ready(port));
    }
    AtomicBoolean stop = new AtomicBoolean();
    AtomicInteger answered = new AtomicInteger();
    List<String> failures = new CopyOnWriteArrayList<>();
    List<Thread> loops = new ArrayList<>();
    for (int c = 0; c < 6; c++) {
      int loop = c;
      Thread t = new Thread(() -> {
        for (int i = 0; !stop.get(); i++) {
          String session = "roll-" + loop;
          String body = new JsonObject().put("session", session).put("text", "message " + i)
            .put("idempotency_key", session + "-" + i).encode();
          boolean done = false;
          // like a load balancer: a gateway that is going away is retried on the next one, same key
          for (int attempt = 0; attempt < 30 && !done; attempt++) {
            int port = ports[(loop + attempt) % 3];
            try {
              HttpResponse<String> r = TestHub.post(url(port) + "/v1/agents/" + (loop % 2 == 0 ? "support" : "ops")
                + "/messages", body);
              if (r.statusCode() == 200) {
                done = true;
              } else {
                failures.add(r.statusCode() + " " + r.body());
                done = true;
              }
            } catch (Exception e) {
              sleepQuietly(200);
            }
          }
          if (!done) {
            failures.add("no gateway answered " + session + " message " + i);
          } else {
            answered.incrementAndGet();
          }
        }
      });
      t.start();
      loops.add(t);
    }
    Fixtures.await("load is flowing", Duration.ofMinutes(1), () -> answered.get() >= 30);
    for (int i = 0; i < 3; i++) {
      int before = answered.get();
      nodes[i].destroy(); // SIGTERM: a clean leave
      assertThat(nodes[i].waitFor(2, TimeUnit.MINUTES)).isTrue();
      nodes[i] = launch("r" + (i + 1) + "-again", env, "--conf", conf.toAbsolutePath().toString(), "--cluster",
        "--node", "r" + (i + 1), "--http-port", String.valueOf(ports[i]));
      int port = ports[i];
      Fixtures.await("r" + (i + 1) + " is back", Duration.ofMinutes(2), () -> nodes(port) == 3 && ready(port));
      Fixtures.await("load flows after restarting r" + (i + 1), Duration.ofMinutes(1), () -> answered.get() >= before + 20);
    }
    stop.set(true);
    for (Thread t : loops) {
      t.join(TimeUnit.MINUTES.toMillis(2));
    }
    assertThat(failures).as("failed messages during the rolling restart").isEmpty();
    assertThat(answered.get()).isGreaterThan(100);
  }

  @Test
  void theDashboardShowsTheClusterLiveInARealBrowser() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(Browser.available(),
      "Debian's chromium is not installed (scripts/test installs it when it can)");
    Map<String, String> env = clusterEnv("memory");
    int[] ports = {freePort(), freePort(), freePort()};
    for (int i = 0; i < 3; i++) {
      launch("d" + (i + 1), env, "--cluster", "--node", "d" + (i + 1), "--http-port", String.valueOf(ports[i]));
    }
    for (int port : ports) {
      Fixtures.await("node on " + port + " is ready", Duration.ofMinutes(2), () -> nodes(port) == 3 && ready(port));
    }
    try (Browser browser = Browser.open(url(ports[0]) + "/", work.resolve("chromium"))) {
      Fixtures.await("the page shows three nodes up", Duration.ofMinutes(1), () -> {
        try {
          return "d1,d2,d3".equals(browser.eval(
            "[...document.querySelectorAll('[data-node][data-state=up]')].map(e => e.dataset.node).sort().join(',')"));
        } catch (Exception e) {
          return false;
        }
      });
      double before = ((Number) browser.eval("window.agenthubDashboard.last().messages_total")).doubleValue();
      for (int i = 0; i < 5; i++) {
        assertThat(message(ports[i % 3], "support", "dash-" + i).statusCode()).isEqualTo(200);
      }
      Fixtures.await("the counters move", Duration.ofMinutes(1), () -> {
        try {
          return ((Number) browser.eval("window.agenthubDashboard.last().messages_total")).doubleValue() >= before + 5;
        } catch (Exception e) {
          return false;
        }
      });
      browser.screenshot(Path.of("target", "dashboard.png"));
      processes.get(2).destroyForcibly();
      Fixtures.await("the killed node leaves the page", Duration.ofMinutes(1), () -> {
        try {
          return "d1,d2".equals(browser.eval(
            "[...document.querySelectorAll('[data-node][data-state=up]')].map(e => e.dataset.node).sort().join(',')"));
        } catch (Exception e) {
          return false;
        }
      });
      browser.screenshot(Path.of("target", "dashboard-after-kill.png"));
      assertThat(Files.readString(work.resolve("chromium").resolve("chromium.log"))).doesNotContain("net::ERR_NAME");
    }
  }

  private static void sleepQuietly(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** The environment of a node of a fresh test cluster on loopback, its memory under {@code memoryDir}. */
  /**
   * Three nodes {@code <prefix>1..3} on {@code env}'s cluster, running support in three instances
   * at 2.5 s of sim latency (turns long enough to kill a node under them); answers their HTTP ports
   * once all three are ready.
   */
  private int[] slowSupportCluster(String prefix, Map<String, String> env) throws Exception {
    Files.createDirectories(work);
    Path conf = work.resolve(prefix + "-slow-support.yaml");
    Files.writeString(conf, """
      providers: { sim: { type: sim, latency-ms: 2500 } }
      models: { sim-small: { provider: sim, input: 0.15, output: 0.60 } }
      agents:
        - { id: support, instances: 3, models: { routine: sim-small }, cache: false }
      """);
    int[] ports = {freePort(), freePort(), freePort()};
    for (int i = 0; i < 3; i++) {
      launch(prefix + (i + 1), env, "--conf", conf.toAbsolutePath().toString(), "--cluster", "--node", prefix + (i + 1),
        "--http-port", String.valueOf(ports[i]));
    }
    for (int port : ports) {
      Fixtures.await("node on " + port + " is ready in a 3-node cluster", Duration.ofMinutes(2),
        () -> nodes(port) == 3 && ready(port));
    }
    return ports;
  }

  private static Map<String, String> clusterEnv(String memoryDir) {
    int base = Fixtures.randomBasePort();
    return Map.of(
      "AGENTHUB_CLUSTER_NAME", "pit-" + UUID.randomUUID(),
      "AGENTHUB_CLUSTER_SECRET", TestHub.SECRET,
      "AGENTHUB_CLUSTER_PORT", String.valueOf(base),
      "AGENTHUB_CLUSTER_MEMBERS", "127.0.0.1:" + base + "-" + (base + 2),
      "AGENTHUB_MEMORY_DIR", memoryDir);
  }

  /** The placements a node reports, with the instance slot ({@code support-0}) sessions are ranked by. */
  private static List<NodeEntry.Placement> placements(int port) throws Exception {
    List<NodeEntry.Placement> out = new ArrayList<>();
    new JsonObject(TestHub.get(url(port) + "/v1/cluster").body()).getJsonArray("placements").forEach(o -> {
      JsonObject p = (JsonObject) o;
      String id = p.getString("instance");
      out.add(new NodeEntry.Placement(p.getString("agent"), id.substring(0, id.indexOf('@')),
        p.getString("node")));
    });
    return out;
  }

  private static double metric(int port, String series) {
    try {
      for (String line : TestHub.get(url(port) + "/metrics").body().split("\n")) {
        if (line.startsWith(series + " ")) {
          return Double.parseDouble(line.substring(series.length() + 1));
        }
      }
    } catch (Exception e) {
      return -1;
    }
    return 0;
  }

  private static boolean ready(int port) {
    try {
      return TestHub.get(url(port) + "/health/ready").statusCode() == 200;
    } catch (Exception e) {
      return false;
    }
  }

  @Test
  void aBadConfigStopsTheNodeWithOneLineNamingTheField() throws Exception {
    Files.createDirectories(work);
    Path bad = work.resolve("bad.yaml").toAbsolutePath();
    Files.writeString(bad, """
      providers: { sim: { type: sim } }
      models: { m: { provider: sim } }
      agents: [ { id: a, models: { routine: missing-model } } ]
      """);
    Process p = launch("bad", Map.of(), "--conf", bad.toString());
    assertThat(p.waitFor(1, TimeUnit.MINUTES)).isTrue();
    assertThat(p.exitValue()).isEqualTo(2);
    List<String> err = Files.readAllLines(work.resolve("bad.err"));
    assertThat(err).hasSize(1);
    assertThat(err.get(0)).startsWith("agenthub: config error: agents[0].models.routine: unknown model 'missing-model'");
  }

  @Test
  void aTakenPortStopsTheNodeWithAClearMessage() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      Process p = launch("taken", Map.of(), "--http-port", String.valueOf(taken.getLocalPort()));
      assertThat(p.waitFor(1, TimeUnit.MINUTES)).isTrue();
      assertThat(p.exitValue()).isEqualTo(1);
      String err = Files.readString(work.resolve("taken.err"));
      assertThat(err).contains("failed to start").contains("in use").doesNotContain("\tat ");
    }
  }

  private static HttpResponse<String> message(int port, String agent, String session) throws Exception {
    return TestHub.post(url(port) + "/v1/agents/" + agent + "/messages",
      new JsonObject().put("session", session).put("text", "hello " + agent).encode());
  }

  private static int nodes(int port) {
    try {
      return new JsonObject(TestHub.get(url(port) + "/v1/cluster").body()).getJsonArray("nodes").size();
    } catch (Exception e) {
      return -1;
    }
  }

  private static String url(int port) {
    return "http://127.0.0.1:" + port;
  }

  private static String exampleJar() {
    File jar = new File("../examples/eventbus-app/target/eventbus-app.jar");
    assertThat(jar).as("the example application's jar (built before the hub)").exists();
    return jar.getAbsolutePath();
  }

  /**
   * A free HTTP port below the kernel's ephemeral range (32768+) and the tests' Hazelcast ports
   * (20000+): a port the kernel handed out would be free for a moment only, and the nodes' own
   * event-bus servers (port 0) could be given it before a node binds it (seen: "address already in use").
   */
  private static int freePort() throws IOException {
    for (int attempt = 0; attempt < 200; attempt++) {
      int port = 12_000 + ThreadLocalRandom.current().nextInt(8_000);
      try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getByName("127.0.0.1"))) {
        return s.getLocalPort();
      } catch (IOException taken) {
        // try another
      }
    }
    throw new IOException("no free port in 12000-19999 on 127.0.0.1");
  }
}
