package dev.agenthub.hub;

import dev.agenthub.config.Secrets;

import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Runs the pod specs of deploy/kubernetes with Docker, as the manifests describe them: one container
 * per pod (the memory StatefulSet's three, each with its own volume, then a pod of each Deployment) with the image, args
 * and env of its spec, the ConfigMap and the Secrets as files at their mount paths, the volumes
 * writable where the spec mounts them (host directories owned by the pod's fsGroup), the security
 * context's user, a read-only root filesystem, no new privileges and no capabilities. Each must
 * reach {@code /health/ready} (a memory pod only once the replicated memory has a writer), and all
 * must form one cluster.
 *
 * <p>What differs from a Kubernetes cluster, because containers here use the host network only:
 * the pod IP is 127.0.0.1, each pod gets its own HTTP port (8090 upward) and binds it on loopback,
 * and Hazelcast finds the others through TCP-IP members on loopback instead of the headless
 * service's DNS. Scheduling, Services, probes run by a kubelet, the NetworkPolicy and the volume's
 * ReadWriteMany semantics are what only a real cluster shows.
 *
 * <p>Run by scripts/test-deploy: {@code java -cp hub/target/test-classes:hub/target/agenthub.jar
 * dev.agenthub.hub.config.PodSpecsRun IMAGE}. Exit 0 when all is well.
 */
public final class PodSpecsRun {

  private static final Path DIR = Path.of("deploy", "kubernetes");
  private static final String TOKEN = "pod-spec-admin-token";
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  private PodSpecsRun() {
  }

  private static Map<String, Object> map(Object o) {
    return KubernetesManifestsTest.map(o);
  }

  private static List<Object> list(Object o) {
    return KubernetesManifestsTest.list(o);
  }

  public static void main(String[] args) throws Exception {
    String image = args.length > 0 ? args[0] : "agenthub:dev";
    List<Map<String, Object>> docs = KubernetesManifestsTest.rendered(DIR);
    Path work = Files.createTempDirectory("agenthub-pod-specs");
    int base = 25_000 + (int) (Math.random() * 100) * 20;
    // the ConfigMap as its files, with discovery pointed at loopback (no cluster DNS here)
    Path config = Files.createDirectories(work.resolve("config"));
    for (Map<String, Object> d : docs) {
      if ("ConfigMap".equals(d.get("kind"))) {
        for (var e : map(d.get("data")).entrySet()) {
          String text = (String) e.getValue();
          if (e.getKey().equals("hub.yaml")) {
            text = text.replaceAll("kubernetes: \\{[^}]*}", "kubernetes: { enabled: false }")
              .replaceAll("(?m)^(\\s*)port: 5701$", "$1port: " + base + "\n$1members: [\"127.0.0.1:" + base + "-"
                + (base + 2) + "\"]");
          }
          Files.writeString(config.resolve(e.getKey()), text);
        }
      }
    }
    // the Secrets the kustomization asks to create by hand
    Path secrets = Files.createDirectories(work.resolve("secrets"));
    Files.createDirectories(secrets.resolve("openai"));
    Files.writeString(secrets.resolve("openai/key-a"), "sk-pod-spec-test");
    Files.createDirectories(secrets.resolve("clients"));
    String hash = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(TOKEN.getBytes()));
    Files.writeString(secrets.resolve("clients/clients.yaml"),
      "clients:\n  - { id: ops-team, token-sha256: " + hash + ", agents: \"*\", admin: true }\n");
    Map<String, Path> secretDirs = Map.of("agenthub-openai", secrets.resolve("openai"),
      "agenthub-clients", secrets.resolve("clients"));
    Map<String, String> secretValues = Map.of("agenthub-cluster/secret", "pod-spec-cluster-secret-0123456789");
    // the shared ReadWriteMany volume: a host directory owned by the pods' fsGroup
    Path data = Files.createDirectories(work.resolve("data"));

    List<String> containers = new ArrayList<>();
    List<Integer> ports = new ArrayList<>();
    int failures = 0;
    try {
      int port = base + 40;
      for (Map<String, Object> w : docs) {
        if (!List.of("StatefulSet", "Deployment").contains(w.get("kind"))) {
          continue;
        }
        String workload = (String) map(w.get("metadata")).get("name");
        // a StatefulSet runs all its pods (replicated memory needs its copies); a Deployment one
        Object replicas = map(w.get("spec")).get("replicas");
        int pods = "StatefulSet".equals(w.get("kind")) && replicas != null ? (Integer) replicas : 1;
        Set<String> claimTemplates = new HashSet<>();
        Object templates = map(w.get("spec")).get("volumeClaimTemplates");
        if (templates != null) {
          for (Object t : list(templates)) {
            claimTemplates.add((String) map(map(t).get("metadata")).get("name"));
          }
        }
        for (int ordinal = 0; ordinal < pods; ordinal++) {
        String pod = workload + "-" + ordinal;
        Map<String, Object> spec = map(map(map(w.get("spec")).get("template")).get("spec"));
        Map<String, Object> podSc = map(spec.get("securityContext"));
        Object fsGroup = podSc.get("fsGroup");
        run("chown", "-R", "10001:" + (fsGroup == null ? "10001" : fsGroup), data.toString());
        Map<String, Object> c = map(list(spec.get("containers")).get(0));
        Map<String, Object> sc = map(c.get("securityContext"));
        List<String> cmd = new ArrayList<>(List.of("docker", "run", "-d", "--name", "pod-spec-" + pod,
          "--network", "host", "--user", sc.get("runAsUser") + ":" + sc.getOrDefault("runAsGroup", "10001")));
        if (Boolean.TRUE.equals(sc.get("readOnlyRootFilesystem"))) {
          cmd.add("--read-only");
        }
        if (Boolean.FALSE.equals(sc.get("allowPrivilegeEscalation"))) {
          cmd.addAll(List.of("--security-opt", "no-new-privileges"));
        }
        for (Object cap : list(map(sc.get("capabilities")).get("drop"))) {
          cmd.addAll(List.of("--cap-drop", (String) cap));
        }
        Map<String, Object> limits = map(map(c.get("resources")).get("limits"));
        if (limits.get("memory") != null) {
          cmd.addAll(List.of("--memory", ((String) limits.get("memory")).replace("Gi", "g").replace("Mi", "m")));
        }
        Map<String, Map<String, Object>> volumes = new HashMap<>();
        for (Object v : list(spec.get("volumes"))) {
          volumes.put((String) map(v).get("name"), map(v));
        }
        for (Object m : list(c.get("volumeMounts"))) {
          Map<String, Object> mount = map(m);
          Map<String, Object> volume = volumes.get((String) mount.get("name"));
          String at = (String) mount.get("mountPath");
          String ro = Boolean.TRUE.equals(mount.get("readOnly")) ? ":ro" : "";
          if (claimTemplates.contains((String) mount.get("name"))) {
            // the pod's own ReadWriteOnce volume: a host directory of its own
            Path own = Files.createDirectories(work.resolve("claims").resolve(mount.get("name") + "-" + pod));
            run("chown", "-R", "10001:" + (fsGroup == null ? "10001" : fsGroup), own.toString());
            cmd.addAll(List.of("-v", own + ":" + at + ro));
          } else if (volume.containsKey("emptyDir")) {
            cmd.addAll(List.of("--tmpfs", at + ":uid=10001,gid=10001,mode=1777"));
          } else if (volume.containsKey("configMap")) {
            cmd.addAll(List.of("-v", config + ":" + at + ro));
          } else if (volume.containsKey("secret")) {
            cmd.addAll(List.of("-v", secretDirs.get((String) map(volume.get("secret")).get("secretName")) + ":" + at + ro));
          } else {
            Path source = mount.get("subPath") == null ? data : Files.createDirectories(data.resolve((String) mount.get("subPath")));
            run("chown", "-R", "10001:" + (fsGroup == null ? "10001" : fsGroup), data.toString());
            cmd.addAll(List.of("-v", source + ":" + at + ro));
          }
        }
        for (Object e : list(c.get("env"))) {
          Map<String, Object> env = map(e);
          String name = (String) env.get("name");
          String value = (String) env.get("value");
          if (value == null) {
            Map<String, Object> from = map(env.get("valueFrom"));
            if (from.containsKey("fieldRef")) {
              String field = (String) map(from.get("fieldRef")).get("fieldPath");
              value = field.equals("metadata.name") ? pod : field.equals("status.podIP") ? "127.0.0.1" : null;
            } else if (from.containsKey("secretKeyRef")) {
              Map<String, Object> ref = map(from.get("secretKeyRef"));
              value = secretValues.get(ref.get("name") + "/" + ref.get("key"));
            }
          }
          if (name.equals("AGENTHUB_HTTP_HOST")) {
            value = "127.0.0.1"; // host network: loopback only
          }
          if (value == null) {
            throw new IllegalStateException(workload + ": cannot give env " + name + " a value");
          }
          cmd.addAll(List.of("-e", name + "=" + value));
        }
        cmd.addAll(List.of("-e", "AGENTHUB_HTTP_PORT=" + port));
        cmd.add(image);
        for (Object a : list(c.get("args"))) {
          cmd.add((String) a);
        }
        run(cmd.toArray(String[]::new));
        containers.add("pod-spec-" + pod);
        ports.add(port);
        System.err.println("pod specs: started " + pod + " (" + workload + ") on HTTP 127.0.0.1:" + port);
        port++;
        }
      }
      for (int i = 0; i < ports.size(); i++) {
        int p = ports.get(i);
        String name = containers.get(i);
        if (!waitFor(() -> {
          if (!running(name)) {
            throw new IllegalStateException(name + " stopped");
          }
          return status(p, "/health/ready") == 200;
        }, 180)) {
          System.err.println("pod specs: FAILED: " + containers.get(i) + " never became ready; its log:");
          run("docker", "logs", "--tail", "40", containers.get(i));
          failures++;
        }
      }
      int first = ports.get(0);
      if (failures == 0 && !waitFor(() -> body(first, "/v1/cluster").contains("\"nodes\"")
        && new JsonObject(body(first, "/v1/cluster")).getJsonArray("nodes").size() == ports.size(), 120)) {
        System.err.println("pod specs: FAILED: the pods did not form one cluster: " + body(first, "/v1/cluster"));
        failures++;
      }
      // the memory StatefulSet's pods keep replicated memory: a writer and every other copy in sync
      if (failures == 0 && !waitFor(() -> {
        JsonObject memory = new JsonObject(body(first, "/v1/cluster")).getJsonObject("memory", new JsonObject());
        int wanted = memory.getInteger("replicas_wanted", 1);
        var replicas = memory.getJsonArray("replicas");
        return wanted == 1 || replicas != null && replicas.stream().filter(r -> ((JsonObject) r).getString("state")
          .equals("following")).count() == wanted - 1;
      }, 120)) {
        System.err.println("pod specs: FAILED: the memory's copies are not in sync: " + body(first, "/v1/cluster"));
        failures++;
      }
      if (failures == 0) {
        System.err.println("pod specs: " + ports.size() + " pods ready, one cluster, memory: "
          + new JsonObject(body(first, "/v1/cluster")).getJsonObject("memory") + "; " + body(first, "/v1/cluster"));
      }
    } finally {
      for (String c : containers) {
        run("docker", "rm", "-f", c);
      }
      run("rm", "-rf", work.toString());
    }
    System.exit(failures == 0 ? 0 : 1);
  }

  private interface Check {
    boolean ok() throws Exception;
  }

  private static boolean running(String container) throws IOException, InterruptedException {
    Process p = new ProcessBuilder("docker", "inspect", "-f", "{{.State.Running}}", container).start();
    String out = new String(p.getInputStream().readAllBytes()).trim();
    p.waitFor();
    return out.equals("true");
  }

  private static boolean waitFor(Check check, int seconds) throws InterruptedException {
    long end = System.nanoTime() + seconds * 1_000_000_000L;
    while (System.nanoTime() < end) {
      try {
        if (check.ok()) {
          return true;
        }
      } catch (IllegalStateException gone) {
        return false; // the container stopped: no use waiting
      } catch (Exception notYet) {
        // not up yet
      }
      Thread.sleep(1000);
    }
    return false;
  }

  private static int status(int port, String path) throws Exception {
    return HTTP.send(request(port, path), HttpResponse.BodyHandlers.discarding()).statusCode();
  }

  private static String body(int port, String path) {
    try {
      return HTTP.send(request(port, path), HttpResponse.BodyHandlers.ofString()).body();
    } catch (Exception e) {
      return "";
    }
  }

  private static HttpRequest request(int port, String path) {
    return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).timeout(Duration.ofSeconds(10))
      .header("Authorization", "Bearer " + TOKEN).GET().build();
  }

  private static void run(String... command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.INHERIT)
      .start();
    if (!p.waitFor(5, TimeUnit.MINUTES) || p.exitValue() != 0 && command[0].equals("docker")
      && command[1].equals("run")) {
      throw new IllegalStateException("failed: " + String.join(" ", command));
    }
  }
}
