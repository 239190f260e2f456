package dev.agenthub.config;

import dev.agenthub.memory.MarkdownStore;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The node's own sections of hub.yaml: {@code node:}, {@code cluster:} and {@code memory:}.
 */
final class NodeConfig {

  private NodeConfig() {
  }

  /** {@code node:} of the config's root. */
  static HubConfig.Node node(Fields root) {
    Fields f = root.section("node", Set.of("name", "roles", "http", "bridge"));
    f.rejectUnknown();
    String name = f.string("name", "n1");
    if (!ConfigLoader.NAME.matcher(name).matches()) {
      throw new ConfigException(f.field("name"), "must be 1-64 of A-Z a-z 0-9 _ . -, got '" + name + "'");
    }
    List<String> roles = f.strings("roles", List.of("general"));
    if (roles.isEmpty()) {
      throw new ConfigException(f.field("roles"), "must name at least one role");
    }
    for (String role : roles) {
      if (!ConfigLoader.NAME.matcher(role).matches()) {
        throw new ConfigException(f.field("roles"), "'" + role + "' is not a valid role name");
      }
    }
    Fields http = f.section("http", Set.of("host", "port", "max-body", "request-timeout", "client-rps", "idle-timeout",
      "header-timeout", "body-timeout"));
    http.rejectUnknown();
    long maxBody = http.sizeBytes("max-body", ConfigLoader.DEFAULT_MAX_BODY);
    if (maxBody < 1024 || maxBody > 64L * 1024 * 1024) {
      throw new ConfigException(http.field("max-body"), "must be between 1KiB and 64MiB");
    }
    long timeout = http.durationMs("request-timeout", 60_000);
    if (timeout < 100) {
      throw new ConfigException(http.field("request-timeout"), "must be at least 100ms");
    }
    return new HubConfig.Node(name, roles,
      new HubConfig.Http(http.string("host", "127.0.0.1"), http.integer("port", 8080, 0, 65535), maxBody, timeout,
        http.integer("client-rps", -1, -1, 1_000_000), connectionTimeout(http, "idle-timeout", 60_000),
        connectionTimeout(http, "header-timeout", 10_000), connectionTimeout(http, "body-timeout", 30_000)),
      bridge(f.section("bridge", Set.of("host", "port", "tls"))));
  }

  /** A deadline on a client's connection: 0 (off), or 100ms to 1h. */
  private static long connectionTimeout(Fields http, String key, long defMs) {
    long ms = http.durationMs(key, defMs);
    if (ms != 0 && (ms < 100 || ms > 3_600_000)) {
      throw new ConfigException(http.field(key), "must be 0 (off) or between 100ms and 1h");
    }
    return ms;
  }

  /**
   * {@code node.bridge:} off (port 0) by default: it is one more listening socket, opened only on
   * purpose, and nodes sharing a machine would otherwise fight for one port.
   */
  static HubConfig.Bridge bridge(Fields f) {
    f.rejectUnknown();
    String host = f.string("host", "127.0.0.1");
    if (host.isBlank() || host.contains(" ") || host.equals("0.0.0.0") || host.equals("::")) {
      throw new ConfigException(f.field("host"), "must be the one address to listen on, got '" + host + "'");
    }
    int port = f.integer("port", 0, 0, 65535);
    HubConfig.Tls tls = null;
    if (f.has("tls")) {
      Fields t = f.section("tls", Set.of("cert", "key", "ca"));
      t.rejectUnknown();
      String ca = t.string("ca", "");
      tls = new HubConfig.Tls(t.requiredString("cert"), t.requiredString("key"), ca.isBlank() ? null : ca);
      for (String file : Stream.of(tls.cert(), tls.key(), tls.ca()).filter(Objects::nonNull).toList()) {
        if (!Files.isReadable(Path.of(file))) {
          throw new ConfigException(t.path(), "cannot read " + file);
        }
      }
    }
    if (port != 0 && tls == null && !Secrets.loopback(host)) {
      // client tokens travel in every frame: off this machine only inside TLS
      throw new ConfigException(f.field("tls"), "is required for a bridge on " + host + " (not a loopback address): "
        + "client tokens travel in every frame");
    }
    return new HubConfig.Bridge(host, port, tls);
  }

  /** {@code cluster:} of the config's root. */
  static HubConfig.Cluster cluster(Fields root) {
    Fields f = root.section("cluster", Set.of("enabled", "name", "host", "port", "members", "kubernetes", "tls",
      "loopback-only"));
    f.rejectUnknown();
    String host = f.string("host", "127.0.0.1");
    if (host.isBlank() || host.contains(" ") || host.equals("0.0.0.0")) {
      throw new ConfigException(f.field("host"), "must be the one address to bind and announce, got '" + host + "'");
    }
    int port = f.integer("port", 5701, 1, 65535);
    List<String> members = new ArrayList<>();
    for (String m : f.strings("members", List.of(host + ":" + port + "-" + (port + 2)))) {
      members.addAll(ConfigLoader.expandMember(f.field("members"), m));
    }
    Fields k8s = f.section("kubernetes", Set.of("enabled", "service-dns"));
    k8s.rejectUnknown();
    String name = f.string("name", "agenthub");
    if (!ConfigLoader.NAME.matcher(name).matches()) {
      throw new ConfigException(f.field("name"), "must be 1-64 of A-Z a-z 0-9 _ . -, got '" + name + "'");
    }
    HubConfig.Tls tls = null;
    if (f.has("tls")) {
      Fields t = f.section("tls", Set.of("cert", "key", "ca"));
      t.rejectUnknown();
      tls = new HubConfig.Tls(t.requiredString("cert"), t.requiredString("key"), t.requiredString("ca"));
      for (String file : List.of(tls.cert(), tls.key(), tls.ca())) {
        if (!Files.isReadable(Path.of(file))) {
          throw new ConfigException(t.path(), "cannot read " + file);
        }
      }
    }
    boolean kubernetes = k8s.bool("enabled", false);
    boolean loopbackOnly = f.bool("loopback-only", false);
    if (loopbackOnly) {
      // its secret is a file on this machine: a member elsewhere could never hold it
      if (kubernetes || !Secrets.loopback(host)) {
        throw new ConfigException(f.field("loopback-only"), "needs cluster.host on loopback and no kubernetes "
          + "discovery, got host '" + host + "'");
      }
      for (String m : members) {
        if (!Secrets.loopback(m.substring(0, m.lastIndexOf(':')))) {
          throw new ConfigException(f.field("loopback-only"), "needs every member on loopback, got '" + m + "'");
        }
      }
    }
    return new HubConfig.Cluster(f.bool("enabled", false), name, host, port, members,
      kubernetes, k8s.string("service-dns", ""), tls, loopbackOnly);
  }

  /** A duration as the config writes it ({@code 500ms}, {@code 30m}, {@code 1h}, {@code 0} = off), in ms. */
  /** {@code memory:} of the config's root, with every key it may hold. */
  static Fields memorySection(Fields root) {
    return root.section("memory", Set.of("dir", "fsync", "max-entry", "max-file", "transcript-max", "writer",
      "sensitive-readable", "replicas"));
  }

  /** {@code memory:} the directory and the bounds of entries, files and transcripts. */
  static HubConfig.Memory memory(Fields mem) {
    mem.rejectUnknown();
    long maxEntry = mem.sizeBytes("max-entry", 64 * 1024);
    long maxFile = mem.sizeBytes("max-file", 8L * 1024 * 1024);
    long transcriptMax = mem.sizeBytes("transcript-max", 256 * 1024);
    if (maxEntry < 256 || maxEntry > 16L * 1024 * 1024) {
      throw new ConfigException(mem.field("max-entry"), "must be between 256B and 16MiB");
    }
    // a whole file is one journal record when it is replaced: it must fit the journal's record
    if (maxFile < maxEntry || maxFile > MarkdownStore.MAX_FILE_BYTES) {
      throw new ConfigException(mem.field("max-file"), "must be at least max-entry and at most 63MiB (the journal's "
        + "record)");
    }
    if (transcriptMax != 0 && (transcriptMax < 4 * maxEntry || transcriptMax > maxFile)) {
      throw new ConfigException(mem.field("transcript-max"), "must be 0 (off) or between 4 x max-entry and max-file");
    }
    return new HubConfig.Memory(mem.string("dir", "data/memory"), mem.bool("fsync", true),
      (int) maxEntry, maxFile, transcriptMax, mem.bool("writer", true), mem.integer("replicas", 1, 1, 7));
  }
}
