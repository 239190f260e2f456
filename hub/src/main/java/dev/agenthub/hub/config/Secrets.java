package dev.agenthub.hub.config;

import dev.agenthub.agents.Hashes;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Logger;

/**
 * Reads the API key secrets the configuration points at (environment variables or files, such as
 * Kubernetes Secrets mounted as files), once at start. A missing one stops the node with one line
 * naming the field; the value itself is never printed.
 */
public final class Secrets {

  private static final Logger LOG = Logger.getLogger(Secrets.class.getName());

  private Secrets() {
  }

  /**
   * The cluster's secret, which agent identity tokens are signed with: {@code AGENTHUB_CLUSTER_SECRET},
   * or the file {@code AGENTHUB_CLUSTER_SECRET_FILE} names. Without one, a standalone node makes a
   * random one, and a clustered node derives one from the cluster name (and says so: set a secret
   * in production).
   */
  private static final AtomicBoolean WARNED = new AtomicBoolean();

  /** Whether {@code host} is a loopback address (127.0.0.0/8, ::1, localhost). */
  static boolean loopback(String host) {
    return host.equals("localhost") || host.startsWith("127.") || host.equals("::1") || host.equals("[::1]")
      || host.equals("0:0:0:0:0:0:0:1");
  }

  public static byte[] clusterSecret(HubConfig config, Map<String, String> env) {
    String secret = env.get("AGENTHUB_CLUSTER_SECRET");
    String file = env.get("AGENTHUB_CLUSTER_SECRET_FILE");
    if ((secret == null || secret.isBlank()) && file != null && !file.isBlank()) {
      try {
        secret = Files.readString(Path.of(file), StandardCharsets.UTF_8).strip();
      } catch (IOException e) {
        throw new ConfigException("AGENTHUB_CLUSTER_SECRET_FILE", "cannot read " + file);
      }
    }
    if (secret != null && !secret.isBlank()) {
      return secret.getBytes(StandardCharsets.UTF_8);
    }
    if (!config.cluster().enabled()) {
      byte[] random = new byte[32];
      new SecureRandom().nextBytes(random);
      return random;
    }
    if (!loopback(config.cluster().host())) {
      // a secret anyone can compute from the cluster's name would sign anyone's requests
      throw new ConfigException("AGENTHUB_CLUSTER_SECRET", "is required for a cluster on " + config.cluster().host()
        + " (not a loopback address): set it, or AGENTHUB_CLUSTER_SECRET_FILE, to the same random value on every node");
    }
    if (WARNED.compareAndSet(false, true)) {
      LOG.warning("no AGENTHUB_CLUSTER_SECRET: identities on "
      + "the event bus are signed with a secret derived from the cluster name, acceptable only because this cluster "
        + "is on loopback; set one before the cluster leaves this machine");
    }
    return Hashes.sha256("agenthub-cluster:" + config.cluster().name());
  }

  /**
   * Secrets by {@code <provider>/<key id>}, for the providers this node's agents use (their models
   * and fallbacks): a missing one stops the node, naming the field. A provider no agent of this
   * node uses needs no secret here (a node for sensitive agents need not hold a cloud key): its
   * missing keys are a warning, and the governor leaves it out.
   */
  public static Map<String, String> load(HubConfig config, Map<String, String> env) {
    Map<String, String> out = new HashMap<>();
    Set<String> used = usedProviders(config);
    for (HubConfig.Provider p : config.providers().values()) {
      for (int i = 0; i < p.keys().size(); i++) {
        HubConfig.Key k = p.keys().get(i);
        String field = "providers." + p.id() + ".keys[" + i + "]";
        try {
          out.put(p.id() + "/" + k.id(), read(k, field, env));
        } catch (ConfigException e) {
          if (used.contains(p.id())) {
            throw e;
          }
          LOG.warning(e.getMessage() + " (no agent on this node uses provider '" + p.id() + "': it stays off here)");
        }
      }
    }
    return out;
  }

  private static String read(HubConfig.Key k, String field, Map<String, String> env) {
    String secret;
    if (k.secretEnv() != null) {
      secret = env.get(k.secretEnv());
      if (secret == null || secret.isBlank()) {
        throw new ConfigException(field + ".secret-env", "environment variable " + k.secretEnv() + " is not set");
      }
    } else {
      try {
        secret = Files.readString(Path.of(k.secretFile()), StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new ConfigException(field + ".secret-file", "cannot read " + k.secretFile());
      }
      if (secret.isBlank()) {
        throw new ConfigException(field + ".secret-file", k.secretFile() + " is empty");
      }
    }
    return secret.strip();
  }

  /** The providers of the models (and their fallbacks) of the agents this node's roles run. */
  static Set<String> usedProviders(HubConfig config) {
    Set<String> models = new HashSet<>();
    ArrayDeque<String> todo = new ArrayDeque<>();
    for (var agent : config.agentsForRoles(config.node().roles())) {
      todo.add(agent.routineModel());
      todo.add(agent.complexModel());
    }
    Set<String> providers = new HashSet<>();
    while (!todo.isEmpty()) {
      String id = todo.poll();
      HubConfig.Model m = id == null ? null : config.models().get(id);
      if (m != null && models.add(id)) {
        providers.add(m.provider());
        todo.addAll(m.fallbacks());
      }
    }
    return providers;
  }
}
