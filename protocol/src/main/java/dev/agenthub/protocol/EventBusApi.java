package dev.agenthub.protocol;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.regex.Pattern;

/**
 * The names of the event-bus API ("Contract: the event-bus API" in docs/ARCHITECTURE.md), shared by
 * the hub that serves it and the client that calls it. Version 1.
 */
public final class EventBusApi {

  /** Requests to agent {@code <agent>} go to {@code agenthub.agents.<agent>}; every hub node serves it. */
  public static final String ADDRESS_PREFIX = "agenthub.agents.";
  /**
   * The tool calls that wait for a person: {@code {}} lists those the caller may decide
   * ({@code {"approvals":[...]}}), {@code {"id","decision":"approve"|"deny"}} decides one and answers
   * with the turn's final reply, as {@code GET /v1/approvals} and {@code POST /v1/approvals/{id}} do.
   */
  public static final String APPROVALS = "agenthub.approvals";
  /** {@code Bearer <client token>}: required when the hub has {@code clients:} configured. */
  public static final String AUTHORIZATION = "authorization";
  /** An address that receives the answer's deltas ({@code {"text"}}) before the reply. */
  public static final String STREAM_TO = "stream-to";
  /** Copied from the request onto every delta, so one consumer can tell several streams apart. */
  public static final String STREAM_ID = "stream-id";
  /**
   * On every delta: where its text starts in the answer. A message sent again (after a node left)
   * streams again from the start; the offsets let a receiver drop what it already has.
   */
  public static final String STREAM_OFFSET = "stream-offset";
  /** The version of this API, answered in the {@code agenthub-api} header of every reply. */
  public static final String VERSION_HEADER = "agenthub-api";
  public static final String VERSION = "1";

  /**
   * Where a client's deltas may go: {@code agenthub.stream.<16 hex>.<id>}, the hex the first 16 of
   * SHA-256 of {@code "stream:" + token}. Bound to the token, so a client can neither register nor
   * name another's (the bridge and the door both check it).
   */
  public static final String STREAM_PREFIX = "agenthub.stream.";
  private static final Pattern STREAM_ID_TEXT = Pattern.compile("[A-Za-z0-9_-]{1,64}");
  private static final Pattern AGENT = Pattern.compile("[A-Za-z0-9_.-]{1,64}");

  private EventBusApi() {
  }

  public static String address(String agent) {
    return ADDRESS_PREFIX + agent;
  }

  /** The agent an address names ({@code agenthub.agents.<agent>}), or null when it names none. */
  public static String agentOf(String address) {
    if (address == null || !address.startsWith(ADDRESS_PREFIX)) {
      return null;
    }
    String agent = address.substring(ADDRESS_PREFIX.length());
    return AGENT.matcher(agent).matches() ? agent : null;
  }

  /** The stream address {@code id} of the client holding {@code token} (null: a hub without clients). */
  public static String streamAddress(String token, String id) {
    return streamPrefix(token) + id;
  }

  /** Whether {@code address} is one of the stream addresses of the client holding {@code token}. */
  public static boolean isStreamAddressOf(String token, String address) {
    String prefix = streamPrefix(token);
    return address != null && address.startsWith(prefix)
      && STREAM_ID_TEXT.matcher(address.substring(prefix.length())).matches();
  }

  /** The token of a {@code Bearer <token>} header, or null. */
  public static String bearerToken(String authorization) {
    if (authorization == null || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return null;
    }
    return authorization.substring(7).trim();
  }

  private static String streamPrefix(String token) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256")
        .digest(("stream:" + (token == null ? "" : token)).getBytes(StandardCharsets.UTF_8));
      return STREAM_PREFIX + HexFormat.of().formatHex(digest, 0, 8) + ".";
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every JDK", e);
    }
  }
}
