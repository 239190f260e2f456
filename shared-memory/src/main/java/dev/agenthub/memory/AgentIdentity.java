package dev.agenthub.memory;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Base64;

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

  /** Constant-time check of {@code token} for {@code agent}. */
  public static boolean verify(byte[] secret, String agent, String token) {
    if (agent == null || token == null) {
      return false;
    }
    return MessageDigest.isEqual(token(secret, agent).getBytes(StandardCharsets.UTF_8),
      token.getBytes(StandardCharsets.UTF_8));
  }
}
