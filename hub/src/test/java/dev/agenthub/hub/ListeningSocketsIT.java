package dev.agenthub.hub;

import dev.agenthub.testing.Fixtures;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A clustered node as its own JVM, each of its servers given its own loopback address: every socket
 * the JVM listens on is bound to one of the configured hosts, none to every interface (0.0.0.0, ::).
 * The sockets are read from the kernel: {@code /proc/<pid>/net/tcp} and {@code tcp6}, matched to the
 * socket inodes among the process's open files.
 */
class ListeningSocketsIT {

  /**
   * Each server of a node and the address the test gives it; a new server is one more entry here and
   * its key in {@link #yaml}.
   */
  private static final Map<String, String> HOSTS = Map.of(
    "http", "127.0.0.2",
    "cluster", "127.0.0.3",
    "bridge", "127.0.0.4");

  private final List<Process> processes = new ArrayList<>();
  private final Path work = Path.of("target", "listening-it", UUID.randomUUID().toString().substring(0, 8));

  @AfterEach
  void killAll() {
    processes.forEach(Process::destroyForcibly);
  }

  @Test
  void everyServerOfAClusteredNodeListensOnlyOnItsConfiguredHost() throws Exception {
    Path proc = Path.of("/proc/self/net/tcp");
    assertThat(proc).as("this test reads Linux's /proc").exists();
    int httpPort = freePort(HOSTS.get("http"));
    int bridgePort = freePort(HOSTS.get("bridge"));
    int clusterPort = Fixtures.randomBasePort();
    Files.createDirectories(work);
    Path conf = work.resolve("hosts.yaml").toAbsolutePath();
    Files.writeString(conf, yaml(httpPort, clusterPort, bridgePort));
    ProcessBuilder pb = new ProcessBuilder(Fixtures.javaBin(), "-Xmx256m", "-jar", TestHub.productJar(), "run", "--conf", conf.toString(),
      "--cluster").directory(work.toFile())
      .redirectOutput(work.resolve("node.out").toFile()).redirectError(work.resolve("node.err").toFile());
    pb.environment().keySet().removeIf(k -> k.startsWith("AGENTHUB_"));
    pb.environment().put("AGENTHUB_CLUSTER_SECRET", UUID.randomUUID().toString());
    Process node = pb.start();
    processes.add(node);

    String url = "http://" + HOSTS.get("http") + ":" + httpPort;
    Fixtures.await("the node is ready on " + url, Duration.ofMinutes(2),
      () -> node.isAlive() && ready(url));

    List<TestHub.Listener> listeners = TestHub.listeners(node.pid());
    assertThat(listeners).as("the node's listening sockets").isNotEmpty();
    assertThat(listeners).as("the HTTP server is among them")
      .contains(new TestHub.Listener(HOSTS.get("http"), httpPort))
      .contains(new TestHub.Listener(HOSTS.get("bridge"), bridgePort));
    // Hazelcast's port and the event bus's
    assertThat(listeners.stream().filter(l -> l.host().equals(HOSTS.get("cluster")))).as("the cluster's servers")
      .hasSizeGreaterThanOrEqualTo(2);
    assertThat(listeners).as("every listening socket is bound to a configured host")
      .allSatisfy(l -> assertThat(l.host()).isIn(HOSTS.values()));
  }

  private static String yaml(int httpPort, int clusterPort, int bridgePort) {
    String cluster = HOSTS.get("cluster");
    return """
      node: { name: sockets1, http: { host: %s, port: %d }, bridge: { host: %s, port: %d } }
      cluster: { enabled: true, name: sockets-%s, host: %s, port: %d, members: ["%s:%d"] }
      memory: { dir: memory }
      ledger: { dir: ledger }
      audit: { dir: audit }
      providers: { sim: { type: sim, latency-ms: 0 } }
      models: { sim-small: { provider: sim, input: 0.15, output: 0.60 } }
      agents:
        - { id: support, models: { routine: sim-small } }
      """.formatted(HOSTS.get("http"), httpPort, HOSTS.get("bridge"), bridgePort, UUID.randomUUID(), cluster, clusterPort, cluster, clusterPort);
  }

  private static boolean ready(String url) {
    try {
      return TestHub.get(url + "/health/ready").statusCode() == 200;
    } catch (Exception e) {
      return false;
    }
  }

  private static int freePort(String host) throws IOException {
    for (int attempt = 0; attempt < 200; attempt++) {
      int port = 12_000 + ThreadLocalRandom.current().nextInt(8_000);
      try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getByName(host))) {
        return s.getLocalPort();
      } catch (IOException taken) {
        // try another
      }
    }
    throw new IOException("no free port in 12000-19999 on " + host);
  }
}
