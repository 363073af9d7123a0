#!/usr/bin/env bash
# Fuzz suite for make test: builds the libFuzzer targets (make fuzz) and runs each for a fixed
# number of executions from its seed corpus. Any crash is a failure; add the input it saves
# (build-asan/fuzz/crash-*) to tests/fuzz/corpus/<target>/ as a regression case.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 70
runs=${FUZZ_RUNS:-200000}
# A fixed seed keeps the suite reproducible (CI runs what ran here); FUZZ_SEED=0 picks one at random.
seed=${FUZZ_SEED:-1}
shared=${ROWPIPE_SHARED:-$(cd .. && pwd)/shared}

build_log=$(mktemp)
trap 'rm -f "$build_log"' EXIT
if ! make --no-print-directory fuzz >"$build_log" 2>&1; then
  echo "not ok - fuzz targets build with clang and libFuzzer: $(tail -5 "$build_log" | tr '\n' ' ')"
  exit 1
fi
echo "ok - fuzz targets build with clang and libFuzzer"
for src in tests/fuzz/*.cpp; do
  name=$(basename "$src" .cpp)
  corpus=tests/fuzz/corpus/${name#fuzz_}
  work=$(mktemp -d)
  [[ -d $corpus ]] && cp -r "$corpus"/. "$work"/
  if [[ $name == fuzz_binlog && -d $shared/corpus/binlog ]]; then
    # Seeds: the real binlog files of the shared corpus (not their text decodings).
    find "$shared/corpus/binlog" -type f ! -name '*.txt' ! -name '*.md' ! -name '*.gz' -size -1M \
      -exec cp {} "$work"/ \;
  fi
  if (cd build-asan/fuzz && ASAN_OPTIONS=detect_leaks=1 "./$name" -seed="$seed" -runs="$runs" -max_len=65536 -timeout=10 \
      -artifact_prefix="$PWD/crash-$name-" "$work" >"$name.log" 2>&1); then
    echo "ok - $name ran $runs executions (seed $seed) without a crash ($(grep -o 'cov: [0-9]*' "build-asan/fuzz/$name.log" | tail -1))"
  else
    echo "not ok - $name crashed: $(grep -m1 -E 'ERROR|SUMMARY|Assertion' "build-asan/fuzz/$name.log")"
  fi
  rm -rf "$work"
done
