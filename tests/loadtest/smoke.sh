#!/bin/sh
# End-to-end runs of genkit-loadtest against a real runtime.
#   smoke.sh CASE   with GK_BUILD_DIR (and GK_SOURCE_DIR for the js-* cases)
# Exit 77 (skip) when the runtime under test is not there.
set -u
case_=${1:?case}
B=${GK_BUILD_DIR:?GK_BUILD_DIR not set}
LT="$B/tools/loadtest/genkit-loadtest"
SV="$B/supervisor/genkit-supervisor"
JS="${GK_SOURCE_DIR:-}/tools/bench/js-runtime"
out=$(mktemp)
log=$(mktemp)
trap 'rm -f "$out" "$log"' EXIT

need_sv() { [ -x "$SV" ] || { echo "skip: no $SV"; exit 77; }; }
need_js() {
    command -v node >/dev/null && [ -d "$JS/node_modules/genkit" ] ||
        { echo "skip: no node or $JS/node_modules"; exit 77; }
}

# run EXPECTED_RC genkit-loadtest-args... -- runtime...
run() {
    want=$1
    shift
    "$LT" --json --runtime-log "$log" "$@" >"$out"
    rc=$?
    cat "$out"
    if [ "$rc" != "$want" ]; then
        echo "FAIL: exit status $rc, expected $want"
        echo "--- runtime log"; tail -n 30 "$log"
        exit 1
    fi
}

# field JQ-PATH EXPECTED
field() {
    got=$(jq -r "$1" "$out")
    if [ "$got" != "$2" ]; then
        echo "FAIL: $1 is $got, expected $2"
        exit 1
    fi
}

clean() {
    field .violations.total 0
    field .requests.lost 0
    field .requests.late 0
}

case $case_ in
rps)        # the brief's smoke run: 1000 echoes at concurrency 8
    need_sv
    run 0 -s rps -c 8 -n 1000 -- "$SV" --demo
    clean
    field .errors.total 0
    field .requests.measured 1000
    field .requests.ok 1000
    field '.runtime.cpu_us_per_request > 0' true
    field '.runtime.peak_tree_rss_kb > 0' true ;;
big)        # 1 MiB input: fragmented both ways
    need_sv
    big=$(mktemp)
    { printf '{"s":"'; head -c 1048576 /dev/zero | tr '\0' x; printf '","n":[1,2.5,null]}'; } >"$big"
    run 0 -s rps -c 2 -n 20 -i "@$big" -- "$SV" --demo
    rm -f "$big"
    clean
    field .requests.ok 20 ;;
open)       # open loop at a modest rate
    need_sv
    run 0 -s rps -r 500 -n 500 -w 50 --allow-errors -- "$SV" --demo
    clean
    field .mode open
    field .requests.measured 500 ;;
stream)
    need_sv
    run 0 -s stream -c 2 -n 50 --chunks 100 -- "$SV" --demo
    clean
    field .errors.total 0
    field .scenario_stats.measured_chunks 5000 ;;
bidi)
    need_sv
    run 0 -s bidi -c 4 -n 50 --chunks 10 -- "$SV" --demo
    clean
    field .errors.total 0
    field .scenario_stats.measured_chunks 500 ;;
cancel)
    need_sv
    run 0 -s cancel -n 3 -- "$SV" --demo
    clean
    field .scenario_stats.final_cancelled 3
    field .scenario_stats.next_echo.count 3
    field '.errors.by_status."1"' 3 ;;
crash-mix)
    need_sv
    run 0 -s crash-mix -c 4 -n 200 --crash-ratio 0.1 -- "$SV" --demo
    clean
    field .scenario_stats.crash_wrong 0
    field .scenario_stats.echo_wrong 0
    field .scenario_stats.echo_error 0 ;;
fail)       # unexpected action errors fail the run, --allow-errors accepts them
    need_sv
    run 1 -s rps -n 10 -k /flow/fail -i '{"status":"INTERNAL","message":"boom"}' -- "$SV" --demo
    field .violations.total 0
    field '.errors.by_status."13"' 10
    run 0 -s rps -n 10 -k /flow/fail -i '{"status":"INTERNAL","message":"boom"}' \
        --allow-errors -- "$SV" --demo ;;
missing)    # runtime without the scenario's action: setup failure
    need_sv
    run 2 -s rps -k /flow/nope -n 1 --connect-timeout 1 -- "$SV" --demo ;;
badcmd)
    "$LT" -n 1 -- /nonexistent/runtime >/dev/null 2>&1
    rc=$?
    [ "$rc" = 2 ] || { echo "FAIL: exit status $rc for a missing command"; exit 1; } ;;
bad)        # a broken runtime: each kind of violation counted, exit status 1
    need_js
    export LT_JS_DIR="$JS"
    run 0 -s rps -n 12 -t 1 --max-message 2048 -- node "$GK_SOURCE_DIR/tests/loadtest/bad-runtime.mjs" good
    clean
    run 1 -s rps -n 12 -t 1 --max-message 2048 -- node "$GK_SOURCE_DIR/tests/loadtest/bad-runtime.mjs"
    field .requests.ok 4   # cases 0 and 1: right value (1 still a violation)
    field .violations.by_kind.trace_id_mismatch 2
    field .violations.by_kind.wrong_result 2
    field .violations.by_kind.id_not_string 2
    field .violations.by_kind.binary_frame 2
    field .violations.by_kind.oversized_message 2
    field .requests.lost 6
    field .requests.timeouts 6 ;;
js-rps)     # the reference JS runtime (tools/bench/js-runtime), if installed
    need_js
    run 0 -s rps -c 8 -n 1000 -- node "$JS/runtime.mjs"
    clean
    field .errors.total 0 ;;
js-stream)
    need_js
    run 0 -s stream -c 2 -n 50 --chunks 100 -- node "$JS/runtime.mjs"
    clean ;;
*)
    echo "unknown case $case_"
    exit 2 ;;
esac
echo "ok: $case_"
