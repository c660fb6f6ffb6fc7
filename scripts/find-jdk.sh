#!/usr/bin/env bash
# Prints the home of a JDK >= 22 (FFM is final since 22): JAVA_HOME when it is one,
# else the newest JDK installed in the usual places. Exits 1 with a hint when none is found.
set -u
MIN=${CATENA_MIN_JAVA:-22}

major_of() { # $1 = a JDK home; prints its feature version, or nothing
  local home=$1 v=""
  [ -x "$home/bin/javac" ] || return 0
  if [ -f "$home/release" ]; then
    v=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$home/release")
  fi
  if [ -z "$v" ]; then
    v=$("$home/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = \([0-9]*\).*/\1/p')
  fi
  echo "$v"
}

candidates() {
  [ -n "${JAVA_HOME:-}" ] && echo "$JAVA_HOME"
  for d in /usr/lib/jvm/* /opt/java/* /opt/jdk* "$HOME"/.sdkman/candidates/java/* "$HOME"/.jdks/* /Library/Java/JavaVirtualMachines/*/Contents/Home; do
    [ -d "$d" ] && echo "$d"
  done
  if command -v javac >/dev/null 2>&1; then dirname "$(dirname "$(readlink -f "$(command -v javac)")")"; fi
}

# JAVA_HOME wins when it is new enough; otherwise the newest candidate.
if [ -n "${JAVA_HOME:-}" ]; then
  m=$(major_of "$JAVA_HOME")
  if [ -n "$m" ] && [ "$m" -ge "$MIN" ]; then echo "$JAVA_HOME"; exit 0; fi
fi
best="" best_major=0
while read -r home; do
  m=$(major_of "$home")
  if [ -n "$m" ] && [ "$m" -ge "$MIN" ] && [ "$m" -gt "$best_major" ]; then best=$home best_major=$m; fi
done < <(candidates | awk '!seen[$0]++')
if [ -z "$best" ]; then
  echo "catena: no JDK >= $MIN found (looked at JAVA_HOME, /usr/lib/jvm, /opt/java, ~/.sdkman, ~/.jdks)." >&2
  echo "catena: install one, e.g. Temurin 25, or point JAVA_HOME at it." >&2
  exit 1
fi
echo "$best"
