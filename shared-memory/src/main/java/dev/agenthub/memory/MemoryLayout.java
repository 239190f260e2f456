package dev.agenthub.memory;

import java.time.LocalDate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where things live in the memory directory, defined once (ARCHITECTURE.md, "Contract: memory
 * layout"): agents find their files by it, the policy gives each agent its folder by it, the store
 * compacts transcripts into their archives by it. Paths are relative and {@code /}-separated, as
 * the store names them.
 */
public final class MemoryLayout {

  /** The writer's own state (journal, epoch, lock, quarantine); hidden, so no memory path can reach it. */
  public static final String STATE_DIR = ".agenthub";

  private static final String AGENTS = "agents";
  private static final String SESSIONS = "sessions";
  private static final String ARCHIVE = "archive";
  private static final String SKILL_FILE = "SKILL.md";
  // agents/<id>/sessions/<session>.md, or agents/<id>/sessions/<client>/<session>.md on a hub with clients
  private static final Pattern TRANSCRIPT = Pattern.compile("(agents/[^/]+/sessions(?:/[^/]+)?)/([^/]+)\\.md");

  private MemoryLayout() {
  }

  /** An agent's own folder, {@code agents/<id>}: it may read and write everything under it. */
  public static String agentDir(String agent) {
    return AGENTS + "/" + agent;
  }

  /** A path as an agent names it in a skill: a bare file name means its own folder. */
  public static String ownPath(String agent, String path) {
    return path.contains("/") ? path : agentDir(agent) + "/" + path;
  }

  /** Its long-term notes, {@code agents/<id>/MEMORY.md}. */
  public static String notes(String agent) {
    return agentDir(agent) + "/MEMORY.md";
  }

  /** Its heartbeat checklist, {@code agents/<id>/HEARTBEAT.md}. */
  public static String heartbeatChecklist(String agent) {
    return agentDir(agent) + "/HEARTBEAT.md";
  }

  /** Its log of one day, {@code agents/<id>/daily/YYYY-MM-DD.md}; the hub dates it in UTC. */
  public static String dailyLog(String agent, LocalDate day) {
    return agentDir(agent) + "/daily/" + day + ".md";
  }

  /** The folder of its skills' instructions, {@code agents/<id>/skills/}, as a prefix to list. */
  public static String skillsDir(String agent) {
    return agentDir(agent) + "/skills/";
  }

  /** Whether {@code path} is a skill's instructions, a {@code SKILL.md} in the skills folder. */
  public static boolean isSkillInstructions(String path) {
    return path.endsWith("/" + SKILL_FILE);
  }

  /**
   * A session's transcript, {@code agents/<id>/sessions/<session key>.md}.
   *
   * @param sessionKey the session id, or {@code <client>/<session>} on a hub with clients
   */
  public static String transcript(String agent, String sessionKey) {
    return agentDir(agent) + "/" + SESSIONS + "/" + sessionKey + ".md";
  }

  /** Whether {@code path} is in an agent's sessions folder: a transcript, or an archive of one. */
  public static boolean inSessions(String path) {
    String[] parts = path.split("/");
    return parts.length > 3 && parts[0].equals(AGENTS) && parts[2].equals(SESSIONS);
  }

  /**
   * The client whose sessions folder {@code path} is in ({@code agents/<id>/sessions/<client>/...}),
   * or null if it is in none (a session of a hub without clients is {@code sessions/<session>.md}).
   */
  public static String sessionClient(String path) {
    String[] parts = path.split("/");
    return inSessions(path) && parts.length > 4 ? parts[3] : null;
  }

  /**
   * A transcript as the store compacts it.
   *
   * @param dir     the folder it is in ({@code agents/<id>/sessions} or {@code agents/<id>/sessions/<client>})
   * @param session its session, the file's name without {@code .md}
   */
  record TranscriptFile(String dir, String session) {

    /** The {@code n}-th archive of its older turns, beside it: {@code <dir>/archive/<session>.<n>.md}. */
    String archive(int n) {
      return dir + "/" + archiveLink(n);
    }

    /** The same, relative to the transcript: how the transcript's header names it. */
    String archiveLink(int n) {
      return ARCHIVE + "/" + session + "." + n + ".md";
    }
  }

  /** The transcript at {@code path}, or null if {@code path} is none. */
  static TranscriptFile transcriptAt(String path) {
    Matcher m = TRANSCRIPT.matcher(path);
    return m.matches() ? new TranscriptFile(m.group(1), m.group(2)) : null;
  }
}
