package dev.agenthub.hub.gateway;

import dev.agenthub.config.HubConfig;
import dev.agenthub.protocol.Failure;
import dev.agenthub.protocol.Hashes;

import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * API tokens: with no clients configured every request passes (and the node listens on loopback by
 * default); otherwise a {@code Bearer} token is required and its SHA-256 must match a configured
 * client, whose agent list and admin flag decide what it may reach.
 */
final class ClientAuth {

  private final Map<String, HubConfig.Client> bySha;

  ClientAuth(List<HubConfig.Client> clients) {
    this.bySha = clients.stream().collect(Collectors.toUnmodifiableMap(HubConfig.Client::tokenSha256, Function.identity()));
  }

  boolean open() {
    return bySha.isEmpty();
  }

  /**
   * Checks the Authorization header for access to {@code agent} (null: any client that talks to
   * agents; a scrape-only token is refused, it reaches {@code /metrics} and nothing else).
   */
  void checkAgent(String authorization, String agent) {
    if (open()) {
      return;
    }
    if (agent == null) {
      checkTalksToAgents(authorization);
      return;
    }
    HubConfig.Client client = client(authorization);
    if (!client.allAgents() && !client.agents().contains(agent) && !client.admin()) {
      throw new Failure(Failure.Kind.FORBIDDEN, "this token may not use agent '" + agent + "'");
    }
  }

  /** Whether the token (already checked) may use {@code agent}. */
  boolean mayUse(String authorization, String agent) {
    if (open()) {
      return true;
    }
    HubConfig.Client client = client(authorization);
    return client.allAgents() || client.admin() || client.agents().contains(agent);
  }

  /**
   * Checks that the header is a client that talks to agents (an admin, or a client with agents): a
   * scrape-only token is refused.
   */
  void checkTalksToAgents(String authorization) {
    if (open()) {
      return;
    }
    HubConfig.Client client = client(authorization);
    if (!client.admin() && !client.allAgents() && client.agents().isEmpty()) {
      throw new Failure(Failure.Kind.FORBIDDEN, "this token may not use any agent");
    }
  }

  /** Whether the header is an admin's token (on a hub without clients, everyone is). */
  boolean admin(String authorization) {
    return open() || client(authorization).admin();
  }

  void checkAdmin(String authorization) {
    if (open()) {
      return;
    }
    if (!client(authorization).admin()) {
      throw new Failure(Failure.Kind.FORBIDDEN, "this endpoint needs an admin token");
    }
  }

  /** {@code /metrics}: an admin, or a client that may only scrape ({@code metrics: true}). */
  void checkMetrics(String authorization) {
    if (open()) {
      return;
    }
    HubConfig.Client client = client(authorization);
    if (!client.admin() && !client.metrics()) {
      throw new Failure(Failure.Kind.FORBIDDEN, "this endpoint needs an admin token or a metrics token");
    }
  }

  /**
   * The id of the client the header authenticates, or null (no or unknown token). However the header
   * is spelled ({@code bearer}, spaces), one token is one client.
   */
  String clientId(String authorization) {
    if (open() || authorization == null || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return null;
    }
    HubConfig.Client client = bySha.get(sha256(authorization.substring(7).trim()));
    return client == null ? null : client.id();
  }

  private HubConfig.Client client(String authorization) {
    if (authorization == null || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
      throw new Failure(Failure.Kind.UNAUTHORIZED, "missing bearer token");
    }
    HubConfig.Client client = bySha.get(sha256(authorization.substring(7).trim()));
    if (client == null) {
      throw new Failure(Failure.Kind.UNAUTHORIZED, "unknown token");
    }
    return client;
  }

  static String sha256(String token) {
    return Hashes.sha256Hex(token);
  }
}
