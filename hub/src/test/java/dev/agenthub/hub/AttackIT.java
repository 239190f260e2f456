package dev.agenthub.hub;

import dev.agenthub.protocol.Hashes;
import dev.agenthub.testing.Fixtures;
import dev.agenthub.testing.HubYaml;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Three node JVMs as an operator would run them (a random cluster secret, event-bus TLS, API clients,
 * three copies of the memory), and an attacker JVM ({@link Attacker}) on the same machine that knows
 * the cluster's name, its members, every port the nodes listen on and one client's token. Every
 * attempt must be blocked, and the cluster must serve as before afterwards.
 */
class AttackIT {

  private static final String TOKEN = "alice-token-" + UUID.randomUUID();
  private static final String ADMIN = "admin-token-" + UUID.randomUUID();
  private final List<Process> processes = new ArrayList<>();
  private final Path work = Path.of("target", "attack-it", UUID.randomUUID().toString().substring(0, 8));

  @AfterEach
  void stop() throws Exception {
    for (Process p : processes) {
      p.destroy();
    }
    for (Process p : processes) {
      if (!p.waitFor(60, TimeUnit.SECONDS)) {
        p.destroyForcibly();
      }
    }
  }

  @Test
  void anAttackerOnTheNetworkGetsNothingFromAClusterWithEventBusTls() throws Exception {
    attack(true);
  }

  /** Without TLS the attacker's frames reach the nodes' event buses: each must be refused there. */
  @Test
  void forgedEventBusFramesAreRefusedOnAClusterWithoutTls() throws Exception {
    attack(false);
  }

  private void attack(boolean tls) throws Exception {
    Files.createDirectories(work);
    String cluster = "attack-" + UUID.randomUUID();
    int base = Fixtures.randomBasePort();
    Path[] pem = Fixtures.certificate("agenthub");
    Path conf = work.resolve("hub.yaml");
    Files.writeString(conf, ("""
      node: { http: { max-body: 64KiB }, bridge: { host: 127.0.0.1 } }
      cluster: { enabled: true, name: %s, host: 127.0.0.1, port: %d, members: ["127.0.0.1:%d-%d"]%s }
      memory: { replicas: 3 }
      ledger: { dir: "%s" }
      audit: { dir: "%s" }
      """ + HubYaml.simModels(0) + """
      agents:
        - { id: support, instances: 2, models: { routine: sim-small, complex: sim-large },
            skills: [memory.read, memory.append, time.now] }
        - { id: assistant, trust: sensitive, models: { routine: sim-small, complex: sim-large },
            skills: [memory.read, memory.append] }
      clients:
        - { id: alice, token-sha256: %s, agents: [support] }
        - { id: ops-team, token-sha256: %s, agents: "*", admin: true }
      """).formatted(cluster, base, base, base + 2, !tls ? "" : ",\n  tls: { cert: \"%s\", key: \"%s\", ca: \"%s\" }"
        .formatted(pem[0].toAbsolutePath(), pem[1].toAbsolutePath(), pem[0].toAbsolutePath()), work.resolve("ledger").toAbsolutePath(), work.resolve("audit").toAbsolutePath(),
      Hashes.sha256Hex(TOKEN), Hashes.sha256Hex(ADMIN)));
    String secret = UUID.randomUUID() + "-" + UUID.randomUUID();
    int[] ports = new int[3];
    List<String> bridges = new ArrayList<>();
    List<Process> nodes = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      ports[i] = Fixtures.freePort();
      bridges.add("127.0.0.1:" + Fixtures.freePort());
      nodes.add(launch("n" + (i + 1), Map.of("AGENTHUB_CLUSTER_SECRET", secret,
        "AGENTHUB_BRIDGE_PORT", bridges.get(i).substring(bridges.get(i).indexOf(':') + 1),
        "AGENTHUB_MEMORY_DIR", work.resolve("memory-n" + (i + 1)).toAbsolutePath().toString()),
        "--conf", conf.toAbsolutePath().toString(), "--cluster", "--node", "n" + (i + 1),
        "--http-port", String.valueOf(ports[i])));
    }
    for (int port : ports) {
      Fixtures.await("node on " + port + " is ready in a 3-node cluster", Duration.ofMinutes(3),
        () -> nodes(port) == 3 && ready(port));
    }
    // something sensitive to steal
    HttpResponse<String> note = send("POST", url(ports[0]) + "/v1/memory/agents/assistant/MEMORY.md",
      "{\"author\":\"ops\",\"text\":\"secret-note: the vault code is 4711\"}", ADMIN);
    assertThat(note.statusCode()).as(note.body()).isEqualTo(200);

    Set<String> listening = new LinkedHashSet<>();
    for (Process p : nodes) {
      TestHub.listeners(p.pid()).forEach(l -> listening.add(l.host() + ":" + l.port()));
    }
    assertThat(listening).as("every socket bound to the configured loopback host only")
      .allMatch(hp -> hp.startsWith("127.0.0.1:"));
    listening.removeIf(hp -> Set.of(ports[0], ports[1], ports[2]).contains(
      Integer.parseInt(hp.substring(hp.lastIndexOf(':') + 1))));
    assertThat(listening).as("Hazelcast and the event bus listen too").hasSizeGreaterThanOrEqualTo(6);

    List<String> command = List.of(Fixtures.javaBin(), "-Xmx256m", "-cp",
      System.getProperty("java.class.path") + File.pathSeparator + TestHub.productJar(), Attacker.class.getName(), cluster,
      "127.0.0.1:" + base + ",127.0.0.1:" + (base + 1) + ",127.0.0.1:" + (base + 2),
      String.join(",", Stream.of(ports[0], ports[1], ports[2]).map(AttackIT::url).toList()),
      String.join(",", listening), TOKEN, String.join(",", bridges), secret);
    Process attacker = new ProcessBuilder(command).directory(work.toFile()).redirectErrorStream(true)
      .redirectOutput(work.resolve("attacker.out").toFile()).start();
    processes.add(attacker);
    assertThat(attacker.waitFor(5, TimeUnit.MINUTES)).as("the attacker finishes").isTrue();
    String out = Files.readString(work.resolve("attacker.out"));
    List<String> attacks = out.lines().filter(l -> l.startsWith("ATTACK ")).toList();
    assertThat(attacks).as(out).hasSizeGreaterThanOrEqualTo(6 + 2 * listening.size() + 10 + 9 * bridges.size());
    assertThat(attacks).as("every attempt blocked").allSatisfy(l -> assertThat(l.split(" ")[2]).as(l)
      .isEqualTo("blocked"));
    assertThat(out).as("the control: the same join with the secret is taken in")
      .contains("CONTROL join-with-the-secret ok");
    if (!tls) {
      // the forged frames reached the event buses: the writer refused the memory write as unsigned
      double refused = 0;
      for (int port : ports) {
        refused += metric(port, "agenthub_refused_total{reason=\"identity\"}");
      }
      assertThat(refused).as("identity refusals counted on the nodes").isGreaterThanOrEqualTo(1);
    }

    // and the cluster serves as before: three nodes, ready, agents answering, the note whole
    for (int port : ports) {
      assertThat(nodes(port)).isEqualTo(3);
      assertThat(ready(port)).isTrue();
      HttpResponse<String> r = send("POST", url(port) + "/v1/agents/support/messages",
        "{\"session\":\"after-" + port + "\",\"text\":\"still there?\"}", TOKEN);
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    }
    HttpResponse<String> read = send("GET", url(ports[2]) + "/v1/memory/agents/assistant/MEMORY.md", null, ADMIN);
    assertThat(read.body()).contains("secret-note").doesNotContain("injected");
    // the absurd promises held nothing: writes go on
    HttpResponse<String> again = send("POST", url(ports[1]) + "/v1/memory/shared/after.md",
      "{\"author\":\"ops\",\"text\":\"written after the attack\"}", ADMIN);
    assertThat(again.statusCode()).as(again.body()).isEqualTo(200);
  }

  private Process launch(String name, Map<String, String> env, String... args) throws IOException {
    Process p = TestHub.launch(work, name, env, args);
    processes.add(p);
    return p;
  }

  private static HttpResponse<String> send(String method, String url, String body, String token) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(60))
      .header("Content-Type", "application/json").header("Authorization", "Bearer " + token)
      .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    return TestHub.HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static double metric(int port, String series) {
    try {
      for (String line : send("GET", url(port) + "/metrics", null, ADMIN).body().split("\n")) {
        if (line.startsWith(series + " ")) {
          return Double.parseDouble(line.substring(series.length() + 1));
        }
      }
    } catch (Exception e) {
      return 0;
    }
    return 0;
  }

  private static int nodes(int port) {
    try {
      return new JsonObject(send("GET", url(port) + "/v1/cluster", null, ADMIN).body()).getJsonArray("nodes").size();
    } catch (Exception e) {
      return -1;
    }
  }

  private static boolean ready(int port) {
    try {
      return TestHub.get(url(port) + "/health/ready").statusCode() == 200;
    } catch (Exception e) {
      return false;
    }
  }

  private static String url(int port) {
    return "http://127.0.0.1:" + port;
  }
}
