#!/usr/bin/env bash
# Installs the dependencies, checks that the source modules include each other without cycles,
# builds dualguard twice (warnings as errors; then AddressSanitizer +
# UBSan) and runs the whole test suite in both builds, then smoke-runs the fuzz targets.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
echo "== include graph (no module includes another that includes it back)"
bash scripts/check-includes.sh --self-test
bash scripts/check-includes.sh
jobs=$(nproc)

passed=0
failed=0
skipped=0
run_suite() { # build-dir, extra cmake args...
  local dir=$1; shift
  cmake -S . -B "$dir" -DDG_WERROR=ON "$@" >/dev/null
  cmake --build "$dir" -j"$jobs"
  local rc=0
  ctest --test-dir "$dir" --output-on-failure -j"$jobs" --timeout 900 | tee "$dir/ctest.out" || rc=$?
  local line total bad
  line=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$dir/ctest.out" | tail -n 1)
  total=$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$line")
  bad=$(sed -E 's/.*passed, ([0-9]+) tests? failed.*/\1/' <<<"$line")
  # A test that cannot run here (exit 77: e.g. the package test when not root) is no pass.
  skip=$(grep -c '\*\*\*Skipped' "$dir/ctest.out" || true)
  passed=$((passed + ${total:-0} - ${bad:-0} - skip))
  failed=$((failed + ${bad:-0}))
  skipped=$((skipped + skip))
  if [ "$rc" -ne 0 ] || [ -z "$line" ]; then
    echo "suite: $passed passed, $((failed > 0 ? failed : 1)) failed, $skipped skipped"
    exit 1
  fi
}

echo "== build and test (RelWithDebInfo, -Werror)"
run_suite build -DCMAKE_BUILD_TYPE=RelWithDebInfo

echo "== build and test under AddressSanitizer + UBSan"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp:print_suppressions=0
run_suite build-asan -DCMAKE_BUILD_TYPE=Debug -DDG_SANITIZE=ON

echo "== fuzz smoke (libFuzzer, bounded)"
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DDG_FUZZ=ON -DDG_WERROR=ON >/dev/null
cmake --build build-fuzz -j"$jobs" --target $(cd tests/fuzz && ls fuzz_*.c | sed 's/\.c$//')
for src in tests/fuzz/fuzz_*.c; do
  name=$(basename "$src" .c)
  corpus=$(mktemp -d)
  [ -d "tests/fuzz/corpus/$name" ] && cp -r "tests/fuzz/corpus/$name/." "$corpus/"
  [ "$name" = fuzz_config ] && cp tests/data/config/*.yaml examples/*.yaml "$corpus/"
  echo "-- $name"
  build-fuzz/tests/"$name" -max_total_time=20 -rss_limit_mb=2048 "$corpus" 2>&1 | tail -n 2
  rm -rf "$corpus"
done
echo "suite: $passed passed, $failed failed, $skipped skipped"
