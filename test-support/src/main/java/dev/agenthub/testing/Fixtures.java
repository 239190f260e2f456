package dev.agenthub.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.Arrays;
import java.util.Base64;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** What tests of every module share: directories, memory files, ports, waiting, certificates. */
public final class Fixtures {

  private Fixtures() {
  }

  public static Path freshDir() {
    try {
      return Files.createTempDirectory("agenthub-test-memory");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The Markdown files of a memory directory by path (not the store's own hidden state). */
  public static Map<String, byte[]> memoryFiles(Path dir) throws IOException {
    Map<String, byte[]> out = new TreeMap<>();
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : walk.filter(Files::isRegularFile).toList()) {
        String rel = dir.relativize(p).toString();
        if (!rel.startsWith(".")) {
          out.put(rel, Files.readAllBytes(p));
        }
      }
    }
    return out;
  }

  /** True when two memory directories hold the same files, byte for byte (and some). */
  public static boolean sameMemoryFiles(Path a, Path b) {
    try {
      Map<String, byte[]> fa = memoryFiles(a);
      Map<String, byte[]> fb = memoryFiles(b);
      return !fa.isEmpty() && fa.keySet().equals(fb.keySet())
        && fa.keySet().stream().allMatch(k -> Arrays.equals(fa.get(k), fb.get(k)));
    } catch (IOException e) {
      return false; // not there yet
    }
  }

  public static int randomBasePort() {
    return 20_000 + ThreadLocalRandom.current().nextInt(0, 400) * 50;
  }

  /** Waits for {@code condition} with a generous deadline; fails with {@code what} if it never holds. */
  public static void await(String what, Duration deadline, BooleanSupplier condition) throws InterruptedException {
    long end = System.nanoTime() + deadline.toNanos();
    while (System.nanoTime() < end) {
      try {
        if (condition.getAsBoolean()) {
          return;
        }
      } catch (AssertionError e) {
        throw e;
      } catch (RuntimeException ignored) {
        // not yet: a node may still be starting
      }
      Thread.sleep(100);
    }
    throw new AssertionError("timed out waiting for: " + what);
  }

  /** A self-signed certificate and key as PEM files, made with the JDK's keytool. */
  public static Path[] certificate(String name) throws Exception {
    Path dir = freshDir();
    Path store = dir.resolve(name + ".p12");
    Process keytool = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
      "-genkeypair", "-alias", "node", "-keyalg", "RSA", "-keysize", "2048", "-dname", "CN=" + name,
      "-ext", "SAN=ip:127.0.0.1", "-validity", "2", "-storetype", "PKCS12", "-keystore", store.toString(),
      "-storepass", "changeit", "-keypass", "changeit").redirectErrorStream(true).start();
    assertThat(keytool.waitFor(1, TimeUnit.MINUTES)).isTrue();
    assertThat(keytool.exitValue()).isZero();
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try (var in = Files.newInputStream(store)) {
      ks.load(in, "changeit".toCharArray());
    }
    Base64.Encoder b64 = Base64.getMimeEncoder(64, "\n".getBytes());
    Path cert = dir.resolve(name + ".crt");
    Path key = dir.resolve(name + ".key");
    Files.writeString(cert, "-----BEGIN CERTIFICATE-----\n"
      + b64.encodeToString(ks.getCertificate("node").getEncoded()) + "\n-----END CERTIFICATE-----\n");
    Files.writeString(key, "-----BEGIN PRIVATE KEY-----\n"
      + b64.encodeToString(ks.getKey("node", "changeit".toCharArray()).getEncoded()) + "\n-----END PRIVATE KEY-----\n");
    return new Path[]{cert, key};
  }

  /**
   * A free TCP port on loopback for a bridge (its port is announced before it listens), below the
   * kernel's ephemeral range and the tests' Hazelcast ports: a port the kernel handed out could be
   * given to a node's event-bus server (port 0) before the bridge binds it.
   */
  public static int freePort() throws IOException {
    for (int attempt = 0; attempt < 200; attempt++) {
      int port = 12_000 + ThreadLocalRandom.current().nextInt(8_000);
      try (ServerSocket socket = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
        return socket.getLocalPort();
      } catch (IOException taken) {
        // try another
      }
    }
    throw new IOException("no free port in 12000-19999 on 127.0.0.1");
  }

  /** The java launcher of the JVM running the tests, for the JVMs they start. */
  public static String javaBin() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }
}
