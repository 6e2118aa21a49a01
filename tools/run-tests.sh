#!/usr/bin/env bash
# Builds (no apt, no npm: see tools/setup.sh) and runs every meson test twice:
# in the normal build ($BUILD_DIR, default build/) and in a second build with
# ASan + UBSan ($BUILD_DIR-sanitize), where any sanitizer report fails the run.
# Ends with one closing line over both passes:
#   "tests: N passed, M failed[, K skipped]"
# and exits non-zero when any test failed.
#   GK_TEST_SANITIZE=0 tools/run-tests.sh      # the normal build only
#   tools/run-tests.sh --suite integration     # extra arguments go to meson test
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}

# Run the protocol tests against the JS reference runtime too when
# tools/setup.sh installed it (GK_TEST_JS_RUNTIME=0 to skip them).
if [ -d tools/bench/js-runtime/node_modules/genkit ]; then
	export GK_TEST_JS_RUNTIME=${GK_TEST_JS_RUNTIME:-1}
fi

logs=()
rc=0

# run_pass NAME DIR [meson setup options...]: build DIR, run the suite, keep
# its test log. A pass that fails sets rc; the next pass still runs.
run_pass() {
	local name=$1 dir=$2
	shift 2
	echo "== $name build ($dir)"
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$@"
	fi
	ninja -C "$dir"
	local log="$dir/meson-logs/testlog.json" prc=0
	rm -f "$log"
	meson test -C "$dir" --print-errorlogs "${MESON_TEST_ARGS[@]}" </dev/null || prc=$?
	if [ ! -s "$log" ]; then
		echo "tests ($name): no test log (meson test exited $prc)"
		rc=1
		return
	fi
	logs+=("$log")
	[ "$prc" -eq 0 ] || rc=$prc
}

MESON_TEST_ARGS=("$@")
run_pass normal "$BUILD_DIR"

if [ "${GK_TEST_SANITIZE:-1}" = 1 ]; then
	# UBSan only prints by default: make its reports fatal, like ASan's.
	export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
	run_pass sanitize "$BUILD_DIR-sanitize" -Db_sanitize=address,undefined
	# A report in a process whose exit status no test looks at (a worker
	# the supervisor replaced, say) still fails the run.
	txt="$BUILD_DIR-sanitize/meson-logs/testlog.txt"
	reports=$(grep -nE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$txt" 2>/dev/null || true)
	if [ -n "$reports" ]; then
		echo "tests (sanitize): sanitizer reports in $txt:"
		head -20 <<<"$reports"
		rc=1
		sanitizer_reports=1
	fi
fi

if [ ${#logs[@]} -eq 0 ]; then
	echo "tests: 0 passed, 1 failed (no test log)"
	exit 1
fi
summary=$(python3 - "${sanitizer_reports:-0}" "${logs[@]}" <<'PY'
import json, sys
passed = failed = skipped = 0
extra_failed = int(sys.argv[1])
for path in sys.argv[2:]:
    p = f = s = 0
    with open(path) as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            r = json.loads(line).get("result")
            if r in ("OK", "EXPECTEDFAIL"):
                p += 1
            elif r == "SKIP":
                s += 1
            else:  # FAIL, TIMEOUT, UNEXPECTEDPASS, ERROR, ...
                f += 1
    print(f"  {path}: {p} ok, {f} failing, {s} skipped")
    passed, failed, skipped = passed + p, failed + f, skipped + s
failed += extra_failed
s = f"tests: {passed} passed, {failed} failed"
if skipped:
    s += f", {skipped} skipped"
print(s)
PY
)
echo "$summary"
case "$summary" in
*"tests: "*", 0 failed"*) [ "$rc" -eq 0 ] || exit "$rc"; exit 0 ;;
*) exit 1 ;;
esac
