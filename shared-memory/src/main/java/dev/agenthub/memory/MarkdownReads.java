package dev.agenthub.memory;

import dev.agenthub.protocol.Failure;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * The reads of a memory directory, on the caller's thread: whole files, one section, listings and
 * bounded searches. They touch only the disk (never the committer's state), and refuse a path that
 * leads out of the directory through a symbolic link.
 */
final class MarkdownReads {

  private static final int MAX_SEARCH_HITS = 100;

  private final Path root;

  MarkdownReads(Path root) {
    this.root = root;
  }

  /** The whole file. */
  String read(String path) {
    Path file = resolveForRead(MemoryPath.of(path));
    try {
      return Files.readString(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      throw new Failure(Failure.Kind.NOT_FOUND, "no memory file " + path);
    } catch (IOException e) {
      throw new Failure(Failure.Kind.INTERNAL, "cannot read " + path);
    }
  }

  /** The {@code ## } section whose heading starts with {@code heading}, up to the next {@code ## }. */
  String readSection(String path, String heading) {
    String text = read(path);
    String[] lines = text.split("\n", -1);
    StringBuilder out = null;
    for (String line : lines) {
      if (line.startsWith("## ")) {
        if (out != null) {
          break;
        }
        if (line.substring(3).startsWith(heading)) {
          out = new StringBuilder();
        }
      }
      if (out != null) {
        out.append(line).append('\n');
      }
    }
    if (out == null) {
      throw new Failure(Failure.Kind.NOT_FOUND, "no section '" + heading + "' in " + path);
    }
    return out.toString().stripTrailing() + "\n";
  }

  /** Files whose path starts with {@code prefix} (empty: all), with sizes, sorted by path. */
  List<MarkdownStore.FileInfo> list(String prefix) {
    List<MarkdownStore.FileInfo> out = new ArrayList<>();
    try {
      walk(root, "", prefix == null ? "" : prefix, out);
    } catch (IOException e) {
      throw new Failure(Failure.Kind.INTERNAL, "cannot list the memory directory");
    }
    out.sort(Comparator.comparing(MarkdownStore.FileInfo::path));
    return out;
  }

  private void walk(Path dir, String rel, String prefix, List<MarkdownStore.FileInfo> out) throws IOException {
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
      for (Path entry : entries) {
        String name = entry.getFileName().toString();
        if (name.startsWith(".") || Files.isSymbolicLink(entry)) {
          continue;
        }
        String path = rel.isEmpty() ? name : rel + "/" + name;
        if (Files.isDirectory(entry, LinkOption.NOFOLLOW_LINKS)) {
          if (prefix.startsWith(path + "/") || (path + "/").startsWith(prefix) || prefix.isEmpty()) {
            walk(entry, path, prefix, out);
          }
        } else if (name.endsWith(".md") && path.startsWith(prefix)) {
          out.add(new MarkdownStore.FileInfo(path, Files.size(entry)));
        }
      }
    }
  }

  /**
   * Lines matching {@code query} (case-insensitive text, or a regex) in the files under any of
   * {@code prefixes}; at most {@value #MAX_SEARCH_HITS} hits.
   */
  private static final long SEARCH_BUDGET_NANOS = 2_000_000_000L;
  private static final int MAX_SEARCH_FILES = 10_000;
  private static final long MAX_SEARCH_BYTES = 64L * 1024 * 1024;

  /**
   * Lines matching {@code query} under {@code prefixes}: at most {@code MAX_SEARCH_HITS} hits, and at
   * most {@value #MAX_SEARCH_FILES} files, 64 MiB and two seconds of reading, whichever comes first.
   */
  List<MarkdownStore.SearchHit> search(String query, boolean regex, List<String> prefixes) {
    if (query == null || query.isBlank() || query.length() > 200) {
      throw new Failure(Failure.Kind.BAD_REQUEST, "a search query is 1-200 characters");
    }
    Pattern pattern;
    try {
      pattern = regex ? Pattern.compile(query, Pattern.CASE_INSENSITIVE)
        : Pattern.compile(Pattern.quote(query), Pattern.CASE_INSENSITIVE);
    } catch (PatternSyntaxException e) {
      throw new Failure(Failure.Kind.BAD_REQUEST, "bad regex: " + e.getDescription());
    }
    List<MarkdownStore.SearchHit> hits = new ArrayList<>();
    // bounded in time, bytes and files as well as hits: a search must not walk a large memory for ever
    long deadline = System.nanoTime() + SEARCH_BUDGET_NANOS;
    long bytes = 0;
    int files = 0;
    for (MarkdownStore.FileInfo file : list("")) {
      if (prefixes.stream().noneMatch(p -> p.isEmpty() || new MemoryPath(file.path()).isUnder(p))) {
        continue;
      }
      if (++files > MAX_SEARCH_FILES || (bytes += file.bytes()) > MAX_SEARCH_BYTES || System.nanoTime() > deadline) {
        break;
      }
      String[] lines;
      try {
        lines = read(file.path()).split("\n");
      } catch (Failure e) {
        continue;
      }
      for (int i = 0; i < lines.length && hits.size() < MAX_SEARCH_HITS; i++) {
        if (pattern.matcher(lines[i]).find()) {
          String line = lines[i].strip();
          hits.add(new MarkdownStore.SearchHit(file.path(), i + 1, line.length() > 200 ? line.substring(0, 200) + "..." : line));
        }
      }
      if (hits.size() >= MAX_SEARCH_HITS) {
        break;
      }
    }
    return hits;
  }

  private Path resolveForRead(MemoryPath path) {
    Path file = root.resolve(path.value());
    try {
      Path parent = file.getParent().toRealPath();
      if (!parent.startsWith(root)) {
        throw escape(path);
      }
    } catch (NoSuchFileException e) {
      throw new Failure(Failure.Kind.NOT_FOUND, "no memory file " + path.value());
    } catch (IOException e) {
      throw new Failure(Failure.Kind.INTERNAL, "cannot read " + path.value());
    }
    if (Files.isSymbolicLink(file)) {
      throw escape(path);
    }
    return file;
  }

  private static Failure escape(MemoryPath path) {
    return new Failure(Failure.Kind.FORBIDDEN, path.value() + " leads out of the memory directory");
  }
}
