package dev.agenthub.memory;

import org.junit.jupiter.api.Test;

import java.time.LocalDate;

import static org.assertj.core.api.Assertions.assertThat;

/** The memory layout of the contract (ARCHITECTURE.md, "Contract: memory layout"), path by path. */
class MemoryLayoutTest {

  @Test
  void anAgentsFilesAreInItsOwnFolder() {
    assertThat(MemoryLayout.agentDir("support")).isEqualTo("agents/support");
    assertThat(MemoryLayout.notes("support")).isEqualTo("agents/support/MEMORY.md");
    assertThat(MemoryLayout.heartbeatChecklist("support")).isEqualTo("agents/support/HEARTBEAT.md");
    assertThat(MemoryLayout.dailyLog("support", LocalDate.of(2026, 3, 7))).isEqualTo("agents/support/daily/2026-03-07.md");
    assertThat(MemoryLayout.skillsDir("support")).isEqualTo("agents/support/skills/");
    assertThat(MemoryLayout.isSkillInstructions("agents/support/skills/refunds/SKILL.md")).isTrue();
    assertThat(MemoryLayout.isSkillInstructions("agents/support/skills/refunds/notes.md")).isFalse();
    assertThat(MemoryLayout.STATE_DIR).as("hidden: no memory path can name it").startsWith(".");
    for (String path : new String[] {MemoryLayout.notes("support"), MemoryLayout.transcript("support", "web/s1"),
      MemoryLayout.dailyLog("support", LocalDate.of(2026, 3, 7))}) {
      assertThat(MemoryPath.of(path).isUnder(MemoryLayout.agentDir("support"))).as(path).isTrue();
    }
  }

  @Test
  void aBareNameIsInTheAgentsFolderAPathIsWhereItSays() {
    assertThat(MemoryLayout.ownPath("support", "MEMORY.md")).isEqualTo("agents/support/MEMORY.md");
    assertThat(MemoryLayout.ownPath("support", "shared/policy.md")).isEqualTo("shared/policy.md");
    assertThat(MemoryLayout.ownPath("support", "agents/ops/MEMORY.md")).isEqualTo("agents/ops/MEMORY.md");
  }

  @Test
  void aTranscriptIsInItsClientsSessionsFolder() {
    assertThat(MemoryLayout.transcript("support", "s1")).isEqualTo("agents/support/sessions/s1.md");
    assertThat(MemoryLayout.transcript("support", "web/s1")).isEqualTo("agents/support/sessions/web/s1.md");
    assertThat(MemoryLayout.inSessions("agents/support/sessions/s1.md")).isTrue();
    assertThat(MemoryLayout.inSessions("agents/support/sessions/web/archive/s1.1.md")).isTrue();
    assertThat(MemoryLayout.inSessions("agents/support/MEMORY.md")).isFalse();
    assertThat(MemoryLayout.inSessions("shared/sessions/notes.md")).as("only an agent's sessions folder").isFalse();
    assertThat(MemoryLayout.inSessions("agents/sessions/MEMORY.md")).as("an agent named sessions").isFalse();
    assertThat(MemoryLayout.sessionClient("agents/support/sessions/web/s1.md")).isEqualTo("web");
    assertThat(MemoryLayout.sessionClient("agents/support/sessions/web/archive/s1.1.md")).isEqualTo("web");
    assertThat(MemoryLayout.sessionClient("agents/support/sessions/s1.md")).as("a hub without clients").isNull();
    assertThat(MemoryLayout.sessionClient("agents/support/MEMORY.md")).isNull();
  }

  @Test
  void aTranscriptsOlderTurnsGoToArchivesBesideIt() {
    MemoryLayout.TranscriptFile open = MemoryLayout.transcriptAt("agents/support/sessions/s1.md");
    assertThat(open).isEqualTo(new MemoryLayout.TranscriptFile("agents/support/sessions", "s1"));
    assertThat(open.archive(1)).isEqualTo("agents/support/sessions/archive/s1.1.md");
    assertThat(open.archiveLink(2)).isEqualTo("archive/s1.2.md");
    MemoryLayout.TranscriptFile web = MemoryLayout.transcriptAt(MemoryLayout.transcript("support", "web/s1"));
    assertThat(web.archive(3)).isEqualTo("agents/support/sessions/web/archive/s1.3.md");
    assertThat(MemoryLayout.sessionClient(web.archive(3))).as("an archive stays its client's").isEqualTo("web");
    assertThat(MemoryLayout.transcriptAt("agents/support/MEMORY.md")).isNull();
    assertThat(MemoryLayout.transcriptAt("shared/sessions/s1.md")).isNull();
    assertThat(MemoryLayout.transcriptAt("agents/support/sessions/a/b/s1.md")).as("at most a client deep").isNull();
  }
}
