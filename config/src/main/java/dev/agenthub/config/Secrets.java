package dev.agenthub.config;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.Map;
import java.util.Set;
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

  /** The shortest cluster secret taken: a short one could be guessed from the derived cluster name. */
  public static final int MIN_SECRET_CHARS = 16;
  /** Where a loopback-only cluster keeps its random secret, under {@code memory.dir}. */
  public static final String LOOPBACK_SECRET_FILE = ".agenthub/cluster.secret";

  /** Whether {@code host} is a loopback address (127.0.0.0/8, ::1, localhost). */
  static boolean loopback(String host) {
    return host.equals("localhost") || host.startsWith("127.") || host.equals("::1") || host.equals("[::1]")
      || host.equals("0:0:0:0:0:0:0:1");
  }

  /**
   * The cluster's secret: it names the Hazelcast cluster a node may join (no member without it) and
   * keys every signature on the event bus. {@code AGENTHUB_CLUSTER_SECRET}, or the file
   * {@code AGENTHUB_CLUSTER_SECRET_FILE} names, at least {@value #MIN_SECRET_CHARS} characters.
   * Without one, a standalone node makes a random one; a clustered node refuses to start unless the
   * cluster is {@code loopback-only}, and then it keeps a random secret per installation in
   * {@code <memory.dir>/}{@value #LOOPBACK_SECRET_FILE}, shared by the nodes of that directory and
   * never derived from anything public.
   */
  public static byte[] clusterSecret(HubConfig config, Map<String, String> env) {
    String secret = env.get("AGENTHUB_CLUSTER_SECRET");
    String field = "AGENTHUB_CLUSTER_SECRET";
    String file = env.get("AGENTHUB_CLUSTER_SECRET_FILE");
    if ((secret == null || secret.isBlank()) && file != null && !file.isBlank()) {
      field = "AGENTHUB_CLUSTER_SECRET_FILE";
      try {
        secret = Files.readString(Path.of(file), StandardCharsets.UTF_8).strip();
      } catch (IOException e) {
        throw new ConfigException(field, "cannot read " + file);
      }
    }
    if (secret != null && !secret.isBlank()) {
      if (secret.strip().length() < MIN_SECRET_CHARS) {
        throw new ConfigException(field, "must be at least " + MIN_SECRET_CHARS + " characters (a random value, "
          + "e.g. openssl rand -hex 32)");
      }
      return secret.strip().getBytes(StandardCharsets.UTF_8);
    }
    HubConfig.Cluster cluster = config.cluster();
    if (!cluster.enabled()) {
      byte[] random = new byte[32];
      new SecureRandom().nextBytes(random);
      return random;
    }
    if (!cluster.loopbackOnly()) {
      throw new ConfigException("AGENTHUB_CLUSTER_SECRET", "is required for a cluster: set it, or "
        + "AGENTHUB_CLUSTER_SECRET_FILE, to the same random value on every node (e.g. openssl rand -hex 32); "
        + "for a cluster on this machine only, set cluster.loopback-only: true instead");
    }
    return loopbackSecret(Path.of(config.memory().dir()));
  }

  /**
   * The random secret of a loopback-only installation, made by the first node that needs it: written
   * to a file of its own first and linked into place, so nodes starting together agree on one.
   */
  static byte[] loopbackSecret(Path memoryDir) {
    Path target = memoryDir.resolve(LOOPBACK_SECRET_FILE);
    try {
      if (!Files.exists(target)) {
        Files.createDirectories(target.getParent());
        byte[] random = new byte[32];
        new SecureRandom().nextBytes(random);
        Path tmp = Files.createTempFile(target.getParent(), "cluster.secret", ".tmp",
          PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        try {
          Files.writeString(tmp, HexFormat.of().formatHex(random) + "\n", StandardCharsets.UTF_8);
          Files.createLink(target, tmp);
          LOG.info("loopback-only cluster: made a random cluster secret in " + target);
        } catch (FileAlreadyExistsException raced) {
          // another node of this installation made it first: use theirs
        } finally {
          Files.deleteIfExists(tmp);
        }
      }
      String secret = Files.readString(target, StandardCharsets.UTF_8).strip();
      if (secret.length() < MIN_SECRET_CHARS) {
        throw new ConfigException("cluster.loopback-only", target + " holds no usable secret; delete it to make a "
          + "new one");
      }
      return secret.getBytes(StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new ConfigException("cluster.loopback-only", "cannot keep the cluster secret in " + target + ": "
        + e.getMessage());
    }
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
  public static Set<String> usedProviders(HubConfig config) {
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
