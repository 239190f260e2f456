package dev.agenthub.protocol;

/** What an agent reports for metrics; the hub implements it with Micrometer. All no-ops by default. */
public interface AgentEvents {

  AgentEvents NONE = new AgentEvents() {
  };

  /** {@code route}: routine, complex or escalated. */
  default void route(String agent, String route) {
  }

  /** {@code outcome}: ok, refused or error. */
  default void skill(String agent, String skill, String outcome) {
  }

  /** A request refused for {@code reason} (e.g. identity). */
  default void refused(String agent, String reason) {
  }

  /** {@code outcome}: skipped, ran or suppressed. */
  default void heartbeat(String agent, String outcome) {
  }
}
