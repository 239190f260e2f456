package dev.agenthub.mcp;

/**
 * What the tool door reports (the node's metrics implement it): every call with its outcome, and
 * what happens to the servers' sessions.
 */
public interface McpEvents {

  /**
   * One tool call: {@code outcome} is {@code ok}, {@code error} (the tool said so, or refused the
   * call), {@code invalid} (the arguments did not fit its schema, or no such tool), {@code timeout},
   * {@code failed} (its server failed), {@code cancelled} or {@code refused} (not this agent's).
   * The arguments arrive hashed: they are never logged.
   */
  void toolCall(String agent, String client, String server, String tool, long nanos, String outcome,
                String argumentsSha256);

  /** A server's session {@code started}, {@code failed} to start or {@code died}. */
  void server(String server, String what);

  McpEvents NONE = new McpEvents() {
    @Override
    public void toolCall(String agent, String client, String server, String tool, long nanos, String outcome,
                         String argumentsSha256) {
    }

    @Override
    public void server(String server, String what) {
    }
  };
}
