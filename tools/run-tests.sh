#!/usr/bin/env bash
# Builds (no apt, no npm: see tools/setup.sh) and runs every meson test,
# then prints one closing line: "tests: N passed, M failed[, K skipped]".
# Exits non-zero when any test failed. Extra arguments go to meson test
# (e.g. --suite integration).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}

if [ ! -f "$BUILD_DIR/build.ninja" ]; then
	meson setup "$BUILD_DIR"
fi
ninja -C "$BUILD_DIR"

# Run the protocol tests against the JS reference runtime too when
# tools/setup.sh installed it (GK_TEST_JS_RUNTIME=0 to skip them).
if [ -d tools/bench/js-runtime/node_modules/genkit ]; then
	export GK_TEST_JS_RUNTIME=${GK_TEST_JS_RUNTIME:-1}
fi

log="$BUILD_DIR/meson-logs/testlog.json"
rm -f "$log"
rc=0
meson test -C "$BUILD_DIR" --print-errorlogs "$@" </dev/null || rc=$?

if [ ! -s "$log" ]; then
	echo "tests: 0 passed, 1 failed (meson test exited $rc without a test log)"
	exit 1
fi
summary=$(python3 - "$log" <<'PY'
import json, sys
passed = failed = skipped = 0
with open(sys.argv[1]) as f:
    for line in f:
        line = line.strip()
        if not line:
            continue
        r = json.loads(line).get("result")
        if r in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r == "SKIP":
            skipped += 1
        else:  # FAIL, TIMEOUT, UNEXPECTEDPASS, ERROR, ...
            failed += 1
s = f"tests: {passed} passed, {failed} failed"
if skipped:
    s += f", {skipped} skipped"
print(s)
PY
)
echo "$summary"
case "$summary" in
*", 0 failed"*) [ "$rc" -eq 0 ] || exit "$rc"; exit 0 ;;
*) exit 1 ;;
esac
