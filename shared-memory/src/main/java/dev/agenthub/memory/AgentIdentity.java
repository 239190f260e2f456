package dev.agenthub.memory;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.concurrent.ConcurrentHashMap;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Who is asking, in a form another agent's code cannot forge: a token per agent, the HMAC-SHA256 of
 * its id under the cluster's secret. The hub hands each agent instance its own token; memory and
 * the governor check it on every request.
 */
public final class AgentIdentity {

  private AgentIdentity() {
  }

  public static String token(byte[] secret, String agent) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret, "HmacSHA256"));
      return Base64.getUrlEncoder().withoutPadding().encodeToString(mac.doFinal(agent.getBytes(StandardCharsets.UTF_8)));
    } catch (Exception e) {
      throw new IllegalStateException("HmacSHA256 unavailable", e);
    }
  }

  /**
   * Checks tokens under one secret, remembering each agent's expected token: every memory and
   * governor request is checked, and an HMAC per request was a measurable share of a turn's CPU.
   * The memory is bounded (names outside the config can be sent by anyone).
   */
  public static final class Verifier {
    private static final int MAX_REMEMBERED = 1024;
    private final byte[] secret;
    private final ConcurrentHashMap<String, byte[]> expected =
      new ConcurrentHashMap<>();

    public Verifier(byte[] secret) {
      this.secret = secret.clone();
    }

    /** Constant-time check of {@code token} for {@code agent}. */
    public boolean verify(String agent, String token) {
      if (agent == null || token == null) {
        return false;
      }
      byte[] want = expected.get(agent);
      if (want == null) {
        want = token(secret, agent).getBytes(StandardCharsets.UTF_8);
        if (expected.size() >= MAX_REMEMBERED) {
          expected.clear();
        }
        expected.put(agent, want);
      }
      return MessageDigest.isEqual(want, token.getBytes(StandardCharsets.UTF_8));
    }
  }
}
