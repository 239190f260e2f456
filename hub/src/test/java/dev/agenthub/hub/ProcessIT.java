package dev.agenthub.hub;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

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
    Files.createDirectories(work);
    List<String> command = new ArrayList<>(List.of(javaBin(), "-Xmx256m", "-jar", jar(), "run"));
    command.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(command).directory(work.toFile())
      .redirectErrorStream(false)
      .redirectOutput(work.resolve(name + ".out").toFile())
      .redirectError(work.resolve(name + ".err").toFile());
    pb.environment().keySet().removeIf(k -> k.startsWith("AGENTHUB_"));
    pb.environment().putAll(env);
    Process p = pb.start();
    processes.add(p);
    return p;
  }

  @Test
  void threeNodesAnswerForEveryAgentAndSurviveAKill() throws Exception {
    int base = TestHub.randomBasePort();
    Map<String, String> env = Map.of(
      "AGENTHUB_CLUSTER_NAME", "pit-" + UUID.randomUUID(),
      "AGENTHUB_CLUSTER_PORT", String.valueOf(base),
      "AGENTHUB_CLUSTER_MEMBERS", "127.0.0.1:" + base + "-" + (base + 2),
      "AGENTHUB_MEMORY_DIR", "memory");
    int[] ports = {freePort(), freePort(), freePort()};
    for (int i = 0; i < 3; i++) {
      launch("p" + (i + 1), env, "--cluster", "--node", "p" + (i + 1), "--http-port", String.valueOf(ports[i]));
    }
    for (int port : ports) {
      TestHub.await("node on " + port + " sees 3 nodes", Duration.ofMinutes(2), () -> nodes(port) == 3);
      assertThat(TestHub.get(url(port) + "/health/ready").statusCode()).isEqualTo(200);
      JsonObject cluster = new JsonObject(TestHub.get(url(port) + "/v1/cluster").body());
      assertThat(cluster.getJsonArray("nodes").stream().map(n -> ((JsonObject) n).getString("name")))
        .containsExactly("p1", "p2", "p3");
      assertThat(cluster.getJsonArray("placements")).hasSize(9);
    }
    for (int port : ports) {
      for (String agent : AGENTS) {
        for (int s = 0; s < 4; s++) {
          assertThat(message(port, agent, "s" + s).statusCode()).isEqualTo(200);
        }
      }
    }

    processes.get(1).destroyForcibly(); // SIGKILL p2
    for (int port : new int[]{ports[0], ports[2]}) {
      TestHub.await("node on " + port + " notices the kill", Duration.ofMinutes(1), () -> nodes(port) == 2);
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
    TestHub.await("p1 sees p3 leave", Duration.ofMinutes(1), () -> nodes(ports[0]) == 1);
    assertThat(Files.readString(work.resolve("p3.err"))).doesNotContain("\tat ");
    assertThat(Files.readString(work.resolve("p3.out"))).contains("agenthub node p3 stopped");
    assertThat(message(ports[0], "support", "last").statusCode()).isEqualTo(200);
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
    try (ServerSocket taken = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
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

  private static String jar() {
    String jar = System.getProperty("agenthub.jar", "target/agenthub.jar");
    assertThat(new File(jar)).as("the fat jar (run through mvn verify)").exists();
    return new File(jar).getAbsolutePath();
  }

  private static String javaBin() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
      return s.getLocalPort();
    }
  }
}
