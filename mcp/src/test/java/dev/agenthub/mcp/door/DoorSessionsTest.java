package dev.agenthub.mcp.door;

import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

class DoorSessionsTest {

  private final AtomicLong now = new AtomicLong(1_000_000);
  private final DoorSessions sessions = new DoorSessions(3, 60_000, now::get);
  private final String owner = DoorSessions.owner("Bearer t1");

  @Test
  void aSessionIsItsOwnersOnly() {
    DoorSessions.Session s = sessions.open(owner, "2025-06-18");
    assertThat(sessions.find(s.id, owner)).isSameAs(s);
    assertThat(sessions.find(s.id, DoorSessions.owner("Bearer t2"))).isNull();
    assertThat(sessions.find(s.id, DoorSessions.owner(null))).isNull();
    assertThat(DoorSessions.owner("bearer  t1 ")).isEqualTo(owner);
    assertThat(sessions.close(s.id, DoorSessions.owner("Bearer t2"))).isFalse();
    assertThat(sessions.close(s.id, owner)).isTrue();
    assertThat(sessions.find(s.id, owner)).isNull();
    assertThat(sessions.close(s.id, owner)).isFalse();
  }

  @Test
  void idsAreRandomAndTheAgentSessionDoesNotShowThem() {
    DoorSessions many = new DoorSessions();
    Set<String> ids = new HashSet<>();
    for (int i = 0; i < 1000; i++) {
      DoorSessions.Session s = many.open(owner, "2025-06-18");
      assertThat(s.id).matches("[A-Za-z0-9_-]{43}");
      assertThat(s.agentSession()).matches("mcp-[0-9a-f]{24}").doesNotContain(s.id);
      ids.add(s.id);
    }
    assertThat(ids).hasSize(1000);
  }

  @Test
  void aNodeHoldsAtMostItsBoundAndAnIdleSessionGoes() {
    DoorSessions.Session first = sessions.open(owner, "v");
    now.addAndGet(30_000);
    DoorSessions.Session second = sessions.open(owner, "v");
    sessions.open(owner, "v");
    assertThat(sessions.open(owner, "v")).as("full").isNull();
    now.addAndGet(30_000); // the first is idle for 60 s now: it makes room
    assertThat(sessions.open(owner, "v")).isNotNull();
    assertThat(sessions.find(first.id, owner)).isNull();
    assertThat(sessions.find(second.id, owner)).as("used: it lives 60 s more").isSameAs(second);
    now.addAndGet(59_000);
    assertThat(sessions.find(second.id, owner)).isSameAs(second);
    now.addAndGet(60_000);
    assertThat(sessions.find(second.id, owner)).isNull();
  }

  @Test
  void closingASessionCancelsItsCallsOnce() {
    DoorSessions.Session s = sessions.open(owner, "v");
    AtomicInteger cancelled = new AtomicInteger();
    Runnable cancel = cancelled::incrementAndGet;
    s.track("n:1", cancel);
    s.track("n:2", cancel);
    s.untrack("n:2", cancel);
    assertThat(s.cancel("n:3")).isFalse();
    assertThat(sessions.close(s.id, owner)).isTrue();
    assertThat(cancelled).hasValue(1);
    assertThat(s.calls()).isZero();
  }
}
