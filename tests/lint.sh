#!/usr/bin/env bash
# Lint suite: clang-format check on all C++ sources, clang-tidy on the library, groff on the man pages.
# Prints one `ok - ...` / `not ok - ...` line per check (counted by tests/run-all).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 70

mapfile -t sources < <(find lib tools tests/unit tests/helpers tests/fuzz \( -name '*.cpp' -o -name '*.hpp' \) 2>/dev/null | sort)
mapfile -t lib_sources < <(find lib -name '*.cpp' | sort)

if ! command -v clang-format >/dev/null; then
  echo "skip - clang-format check: clang-format is not installed (make deps)"
else
  bad=()
  for f in "${sources[@]}"; do
    clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
  done
  if ((${#bad[@]})); then
    echo "not ok - clang-format: ${#bad[@]} file(s) need formatting (make format): ${bad[*]}"
  else
    echo "ok - clang-format: all ${#sources[@]} sources are formatted"
  fi
fi

if ! command -v clang-tidy >/dev/null; then
  echo "skip - clang-tidy on lib/: clang-tidy is not installed (make deps)"
else
  flags="-std=c++20 -Ilib $(pkg-config --cflags libmariadb hiredis rdkafka librabbitmq libmongoc-1.0 2>/dev/null)"
  # A file that passed before is not checked again while it, every project header, the config
  # and the clang-tidy version are unchanged: its verdict is cached by their hash.
  cache=${XDG_CACHE_HOME:-$HOME/.cache}/rowpipe/tidy
  mkdir -p "$cache"
  context=$( (clang-tidy --version; cat .clang-tidy; echo "$flags"; find lib -name '*.hpp' | sort | xargs cat) | sha256sum | cut -c1-16)
  export flags cache context
  # Two at a time (two cores); each prints its verdict line.
  printf '%s\n' "${lib_sources[@]}" | xargs -P2 -I{} bash -c '
    key=$(cat "$1" | sha256sum | cut -c1-16)-$context
    if [ -e "$cache/$key" ]; then echo "ok - clang-tidy: $1 (unchanged since it passed)"; exit 0; fi
    out=$(clang-tidy -quiet "$1" -- $flags 2>&1)
    if [ $? -eq 0 ]; then echo "ok - clang-tidy: $1"; touch "$cache/$key"
    else echo "not ok - clang-tidy: $1"; echo "$out" | grep -E "(warning|error):" | head -5 | sed "s/^/    /"; fi' _ {}
fi

for page in man/*.[15]; do
  [[ -e $page ]] || continue
  out=$(groff -man -ww -z "$page" 2>&1)
  if [[ -z $out ]]; then echo "ok - groff: $page has no warnings"
  else echo "not ok - groff: $page: $(echo "$out" | head -3 | tr '\n' ' ')"; fi
  for section in NAME SYNOPSIS DESCRIPTION "EXIT STATUS" ENVIRONMENT EXAMPLES "SEE ALSO"; do
    [[ $page == *.5 && $section != NAME && $section != DESCRIPTION && $section != "SEE ALSO" ]] && continue
    if ! grep -q "^\.SH \"\?$section\"\?" "$page"; then echo "not ok - $page lacks the $section section"; fi
  done
done
