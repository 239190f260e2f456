# Sourced by the scripts: checks Java and Maven, and builds the jars when one is missing or older
# than the sources, saying so (the first build downloads dependencies and takes minutes). After it,
# $AGENTHUB_JAR names the product jar and $AGENTHUB_TOOLS_JAR the tools' (mock LLM, benchmarks).
AGENTHUB_JAR=hub/target/agenthub.jar
AGENTHUB_TOOLS_JAR=devtools/target/agenthub-devtools.jar

agenthub_need_java() {
  command -v java >/dev/null || { echo "agenthub: Java 17 or newer is needed (java is not on the PATH)" >&2; exit 1; }
  local v
  v=$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
  if [[ -z "$v" || "${v%%.*}" -lt 17 ]]; then
    echo "agenthub: Java 17 or newer is needed, this is Java ${v:-unknown} ($(command -v java))" >&2
    exit 1
  fi
}

agenthub_build() {
  agenthub_need_java
  local oldest=$AGENTHUB_JAR
  [[ -f "$AGENTHUB_TOOLS_JAR" && "$AGENTHUB_TOOLS_JAR" -ot "$AGENTHUB_JAR" ]] && oldest=$AGENTHUB_TOOLS_JAR
  if [[ ! -f "$AGENTHUB_JAR" || ! -f "$AGENTHUB_TOOLS_JAR" ]] || [[ -n "$(find pom.xml */pom.xml examples/*/pom.xml conf */src/main examples/*/src/main -newer "$oldest" -type f -print -quit 2>/dev/null)" ]]; then
    command -v mvn >/dev/null || { echo "agenthub: Maven 3.8 or newer is needed to build $AGENTHUB_JAR (mvn is not on the PATH)" >&2; exit 1; }
    local mv
    mv=$(mvn -B -v 2>/dev/null | sed 's/\x1b\[[0-9;]*m//g' | sed -n 's/^Apache Maven \([0-9.]*\).*/\1/p')
    if [[ -z "$mv" ]] || [[ "$(printf '%s\n' 3.8 "$mv" | sort -V | head -1)" != 3.8 ]]; then
      echo "agenthub: Maven 3.8 or newer is needed, this is ${mv:-unknown}" >&2
      exit 1
    fi
    echo "agenthub: building $AGENTHUB_JAR and $AGENTHUB_TOOLS_JAR (the first build downloads dependencies: a few minutes) ..." >&2
    local started=$SECONDS
    if ! mvn -B -q -DskipTests package >&2; then
      echo "agenthub: the build failed (see above)" >&2
      exit 1
    fi
    echo "agenthub: built in $((SECONDS - started)) s" >&2
  fi
}
