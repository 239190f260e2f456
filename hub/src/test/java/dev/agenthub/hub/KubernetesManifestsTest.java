package dev.agenthub.hub;

import dev.agenthub.config.ConfigLoader;
import dev.agenthub.config.HubConfig;
import dev.agenthub.config.Secrets;

import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The Kubernetes files as kustomize would render them (the resources listed in
 * kustomization.yaml, in the namespace it names), checked for what a node needs to start and to
 * run safely: writable persistent paths, only the secrets its agents use, probes, resources, a
 * locked-down security context, no secret or admin token shipped in the files.
 */
class KubernetesManifestsTest {

  private static final Path DIR = Path.of("..", "deploy", "kubernetes");

  @SuppressWarnings("unchecked")
  static Map<String, Object> map(Object o) {
    return (Map<String, Object>) o;
  }

  @SuppressWarnings("unchecked")
  static List<Object> list(Object o) {
    return o == null ? List.of() : (List<Object>) o;
  }

  /** The documents of the resources kustomization.yaml (under {@code dir}) lists, in its order. */
  static List<Map<String, Object>> rendered(Path dir) throws IOException {
    Yaml yaml = new Yaml(new SafeConstructor(new LoaderOptions()));
    Map<String, Object> kustomization = map(yaml.load(Files.readString(dir.resolve("kustomization.yaml"))));
    List<Map<String, Object>> out = new ArrayList<>();
    for (Object file : list(kustomization.get("resources"))) {
      for (Object doc : yaml.loadAll(Files.readString(dir.resolve((String) file)))) {
        if (doc != null) {
          out.add(map(doc));
        }
      }
    }
    return out;
  }

  private static String hubYaml(List<Map<String, Object>> docs) {
    return docs.stream().filter(d -> "ConfigMap".equals(d.get("kind")))
      .map(d -> (String) map(d.get("data")).get("hub.yaml")).findFirst().orElseThrow();
  }

  @Test
  void theManifestsStartNodesThatRunSafely() throws Exception {
    assertThat(new Yaml(new SafeConstructor(new LoaderOptions())).<Map<String, Object>>load(
      Files.readString(DIR.resolve("kustomization.yaml"))).get("namespace")).isEqualTo("agenthub");
    List<Map<String, Object>> docs = rendered(DIR);
    assertThat(docs).anySatisfy(d -> {
      assertThat(d.get("kind")).isEqualTo("Namespace");
      assertThat(map(d.get("metadata")).get("name")).isEqualTo("agenthub");
    });
    // secrets are created by hand (kustomization.yaml says how): no placeholder overwrites a real one
    assertThat(docs).noneSatisfy(d -> assertThat(d.get("kind")).isEqualTo("Secret"));
    String hub = hubYaml(docs);
    assertThat(hub).doesNotContain("token-sha256").doesNotContain("clients:");

    List<Map<String, Object>> workloads = docs.stream()
      .filter(d -> List.of("Deployment", "StatefulSet").contains(d.get("kind"))).toList();
    assertThat(workloads).hasSize(3);
    List<String> claims = docs.stream().filter(d -> "PersistentVolumeClaim".equals(d.get("kind")))
      .map(d -> (String) map(d.get("metadata")).get("name")).toList();
    for (Map<String, Object> w : workloads) {
      String name = (String) map(w.get("metadata")).get("name");
      Map<String, Object> pod = map(map(map(w.get("spec")).get("template")).get("spec"));
      assertThat(map(pod.get("securityContext"))).as(name).containsEntry("runAsNonRoot", true);
      Map<String, String> volumeKinds = new HashMap<>();
      // a StatefulSet's own volumes: one ReadWriteOnce claim per pod
      Object templates = map(w.get("spec")).get("volumeClaimTemplates");
      if (templates != null) {
        for (Object t : list(templates)) {
          Map<String, Object> claim = map(t);
          assertThat(list(map(claim.get("spec")).get("accessModes"))).as(name + " own volume").containsExactly("ReadWriteOnce");
          volumeKinds.put((String) map(claim.get("metadata")).get("name"), "own");
        }
      }
      for (Object v : list(pod.get("volumes"))) {
        Map<String, Object> volume = map(v);
        if (volume.containsKey("persistentVolumeClaim")) {
          String claim = (String) map(volume.get("persistentVolumeClaim")).get("claimName");
          assertThat(claims).as(name + " claims a volume the files declare").contains(claim);
          volumeKinds.put((String) volume.get("name"), "persistent");
        } else if (volume.containsKey("emptyDir")) {
          volumeKinds.put((String) volume.get("name"), "scratch");
        } else {
          volumeKinds.put((String) volume.get("name"), "read-only");
        }
      }
      for (Object c : list(pod.get("containers"))) {
        Map<String, Object> container = map(c);
        Map<String, Object> sc = map(container.get("securityContext"));
        assertThat(sc).as(name).containsEntry("runAsNonRoot", true).containsEntry("allowPrivilegeEscalation", false)
          .containsEntry("readOnlyRootFilesystem", true);
        assertThat(list(map(sc.get("capabilities")).get("drop"))).as(name).contains("ALL");
        Map<String, Object> resources = map(container.get("resources"));
        assertThat(resources).as(name + " resources").containsKeys("requests", "limits");
        assertThat(container).as(name).containsKeys("readinessProbe", "livenessProbe");
        assertThat(map(map(container.get("lifecycle")).get("preStop"))).as(name + " drains before SIGTERM").isNotEmpty();

        // the node's config as this container sees it
        Map<String, String> env = new HashMap<>();
        for (Object e : list(container.get("env"))) {
          Map<String, Object> entry = map(e);
          if (entry.get("value") != null) {
            env.put((String) entry.get("name"), (String) entry.get("value"));
          }
        }
        env.put("AGENTHUB_NODE", name + "-0");
        env.remove("AGENTHUB_CLIENTS_FILE"); // read at start from its Secret; checked below
        HubConfig config = ConfigLoader.parse(hub, name, env, ConfigLoader.Overrides.none());
        Map<String, Object> mounts = new HashMap<>();
        for (Object m : list(container.get("volumeMounts"))) {
          mounts.put((String) map(m).get("mountPath"), m);
        }
        // every path the node writes is on a writable persistent volume, /tmp on scratch
        List<String> written = new ArrayList<>(List.of(config.ledgerDir(), config.auditDir()));
        if (config.memory().writer()) {
          written.add(config.memory().dir());
        }
        for (String path : written) {
          Map<String, Object> mount = mounts.entrySet().stream()
            .filter(e -> path.equals(e.getKey()) || path.startsWith(e.getKey() + "/"))
            .map(e -> map(e.getValue())).findFirst().orElse(null);
          assertThat(mount).as(name + " writes " + path + " on a mounted volume").isNotNull();
          assertThat(mount.get("readOnly")).as(name + " " + path).isNotEqualTo(true);
          assertThat(volumeKinds.get((String) mount.get("name"))).as(name + " " + path).isIn("persistent", "own");
        }
        if (config.memory().writer()) {
          // replicated memory: three copies, each on the pod's own ReadWriteOnce volume, no shared storage
          assertThat(config.memory().replicas()).as(name + " memory.replicas").isEqualTo(3);
          assertThat(map(w.get("spec")).get("replicas")).as(name + " pods").isEqualTo(3);
          String memoryVolume = (String) mounts.entrySet().stream()
            .filter(e -> config.memory().dir().equals(e.getKey()) || config.memory().dir().startsWith(e.getKey() + "/"))
            .map(e -> map(e.getValue()).get("name")).findFirst().orElseThrow();
          assertThat(volumeKinds.get(memoryVolume)).as(name + " memory on its own volume").isEqualTo("own");
          // pods one at a time would deadlock: pod 0 is ready only once a writer answers, which needs a second copy
          assertThat(map(w.get("spec")).get("podManagementPolicy")).as(name + " pods start together").isEqualTo("Parallel");
        }
        assertThat(volumeKinds.get((String) map(mounts.get("/tmp")).get("name"))).as(name + " /tmp").isEqualTo("scratch");
        // the clients (and admin tokens) come from a Secret mounted where AGENTHUB_CLIENTS_FILE points
        String clientsFile = list(container.get("env")).stream().map(KubernetesManifestsTest::map)
          .filter(e -> "AGENTHUB_CLIENTS_FILE".equals(e.get("name"))).map(e -> (String) e.get("value"))
          .findFirst().orElseThrow();
        assertThat(mounts.keySet()).as(name).anyMatch(p -> clientsFile.startsWith(p + "/"));
        // each node holds the secrets of the providers its own agents use, and those only
        for (String provider : Secrets.usedProviders(config)) {
          for (HubConfig.Key key : config.providers().get(provider).keys()) {
            assertThat(key.secretFile()).as(name + " reads provider keys from files").isNotNull();
            assertThat(mounts.keySet()).as(name + " mounts " + key.secretFile())
              .anyMatch(p -> key.secretFile().startsWith(p + "/"));
          }
        }
        if (Secrets.usedProviders(config).stream().noneMatch(p -> !config.providers().get(p).keys().isEmpty())) {
          assertThat(mounts.keySet()).as(name + " holds no provider key it does not need")
            .noneMatch(p -> p.startsWith("/secrets/openai"));
        }
      }
    }
  }
}
