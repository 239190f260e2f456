package dev.agenthub.agents;

import dev.agenthub.protocol.Turn;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class SkillsTest {

  @Test
  void aClientsTurnSeesItsOwnTranscriptsOnly() {
    Skills.Call web = new Skills.Call("s", 0, Long.MAX_VALUE, "web");
    assertThat(Skills.visible("agents/support/sessions/web/s1.md", web)).isTrue();
    assertThat(Skills.visible("agents/support/sessions/limited/s1.md", web)).isFalse();
    assertThat(Skills.visible("agents/support/sessions/s1.md", web)).as("a session of no client").isFalse();
    assertThat(Skills.visible("agents/support/sessions/archive/s1.1.md", web)).isFalse();
    assertThat(Skills.visible("agents/support/MEMORY.md", web)).isTrue();
    assertThat(Skills.visible("shared/notes.md", web)).isTrue();
    // without clients (one tenant, loopback only) nothing is hidden
    Skills.Call open = new Skills.Call("s", 0, Long.MAX_VALUE, null);
    assertThat(Skills.visible("agents/support/sessions/limited/s1.md", open)).isTrue();
  }

  @Test
  void aClientsSessionKeyAndTranscriptAreItsOwn() {
    Turn.Request a = Turn.Request.of("s1", "hi").build().forClient("web");
    Turn.Request b = Turn.Request.of("s1", "hi").build().forClient("limited");
    assertThat(a.sessionKey()).isEqualTo("web/s1").isNotEqualTo(b.sessionKey());
    assertThat(Transcript.path("support", a.sessionKey())).isEqualTo("agents/support/sessions/web/s1.md");
    assertThat(Turn.Request.of("s1", "hi").build().sessionKey()).isEqualTo("s1");
    assertThat(Turn.Request.fromJson(a.toJson()).client()).isEqualTo("web");
  }
}
