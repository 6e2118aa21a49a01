#!/usr/bin/env bash
# Benchmarks genkit-supervisor (pooled and --mode fresh) against the reference JS
# runtime (tools/bench/js-runtime) with genkit-loadtest, and writes BENCHMARKS.md.
# Runtimes alternate run by run (scenario by scenario, the first runtime rotating
# every repeat) so that machine noise spreads over all of them; the report shows
# medians of the repeats. See tools/bench/README.md.
set -u

usage() {
    cat <<'EOF'
usage: tools/bench/run.sh [options]

  --repeats N        repeats of every run; the report shows medians (default 3; --quick: 1)
  --quick            short smoke pass (~1 min): 1 repeat, 1 s measurements
  --no-write         print the report on stdout instead of writing BENCHMARKS.md
  --output FILE      write the report to FILE (default: BENCHMARKS.md at the repo root)
  --build DIR        meson build dir ($GK_BUILD_DIR, else build/ at the repo root)
  --runtimes LIST    comma-separated subset of pooled,fresh,js (default: all three)
  --no-js            same as --runtimes pooled,fresh
  --rate R           open-loop rate, requests/s (default 2000)
  --out DIR          keep raw JSON, logs and commands here (default: a new /tmp dir)
  -h, --help         this text

The JS runtime is skipped (and says so) without node or tools/bench/js-runtime/node_modules
(npm ci there); --mode fresh is marked n/a when the supervisor's --help lacks it.
Exit status: 0 all runs clean; 1 a run failed or produced no report; 2 usage/setup.
EOF
}

die() { echo "run.sh: $*" >&2; exit 2; }

SRC=$(cd "$(dirname "$0")/../.." && pwd)
repeats=
quick=0
write=1
output=$SRC/BENCHMARKS.md
build=${GK_BUILD_DIR:-$SRC/build}
runtimes=pooled,fresh,js
rate=2000
out=
argv=("$@")

while [ $# -gt 0 ]; do
    case $1 in
    --repeats) [ $# -ge 2 ] || die "--repeats needs a value"; repeats=$2; shift 2 ;;
    --repeats=*) repeats=${1#*=}; shift ;;
    --quick) quick=1; shift ;;
    --no-write) write=0; shift ;;
    --output) [ $# -ge 2 ] || die "--output needs a value"; output=$2; shift 2 ;;
    --output=*) output=${1#*=}; shift ;;
    --build) [ $# -ge 2 ] || die "--build needs a value"; build=$2; shift 2 ;;
    --build=*) build=${1#*=}; shift ;;
    --runtimes) [ $# -ge 2 ] || die "--runtimes needs a value"; runtimes=$2; shift 2 ;;
    --runtimes=*) runtimes=${1#*=}; shift ;;
    --no-js) runtimes=pooled,fresh; shift ;;
    --rate) [ $# -ge 2 ] || die "--rate needs a value"; rate=$2; shift 2 ;;
    --rate=*) rate=${1#*=}; shift ;;
    --out) [ $# -ge 2 ] || die "--out needs a value"; out=$2; shift 2 ;;
    --out=*) out=${1#*=}; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
    esac
done

[ -n "$repeats" ] || { [ $quick = 1 ] && repeats=1 || repeats=3; }
case $repeats in ''|*[!0-9]*|0) die "--repeats: a positive integer, not '$repeats'" ;; esac
[ "$repeats" -le 50 ] || die "--repeats: at most 50"
case $rate in ''|*[!0-9]*|0) die "--rate: a positive integer, not '$rate'" ;; esac
want_pooled=0 want_fresh=0 want_js=0
IFS=, read -ra _rts <<<"$runtimes"
[ ${#_rts[@]} -gt 0 ] || die "--runtimes: empty"
for r in "${_rts[@]}"; do
    case $r in
    pooled) want_pooled=1 ;; fresh) want_fresh=1 ;; js) want_js=1 ;;
    *) die "--runtimes: unknown runtime '$r' (pooled, fresh, js)" ;;
    esac
done

build=$(cd "$build" 2>/dev/null && pwd) || die "no build dir (--build DIR or GK_BUILD_DIR; build with: meson setup DIR $SRC && ninja -C DIR)"
LT=$build/tools/loadtest/genkit-loadtest
SV=$build/supervisor/genkit-supervisor
JSDIR=$SRC/tools/bench/js-runtime
[ -x "$LT" ] || die "no $LT (ninja -C $build)"
command -v python3 >/dev/null || die "python3 is needed for the report"

# Who takes part. A missing runtime becomes an "n/a" column, with the reason.
declare -A CMD NA
if [ $want_pooled = 1 ] || [ $want_fresh = 1 ]; then
    [ -x "$SV" ] || die "no $SV (ninja -C $build)"
fi
[ $want_pooled = 1 ] && CMD[pooled]="$SV --demo" || NA[pooled]="not selected"
if [ $want_fresh = 1 ]; then
    if "$SV" --help 2>&1 | grep -q -- --mode; then
        CMD[fresh]="$SV --demo --mode fresh"
    else
        NA[fresh]="this genkit-supervisor has no --mode"
        echo "run.sh: fresh: n/a ($SV --help has no --mode)" >&2
    fi
else
    NA[fresh]="not selected"
fi
if [ $want_js = 1 ]; then
    if ! command -v node >/dev/null; then
        NA[js]="node is not installed"
    elif [ ! -d "$JSDIR/node_modules/genkit" ]; then
        NA[js]="tools/bench/js-runtime/node_modules missing (npm ci there)"
    else
        CMD[js]="node $JSDIR/runtime.mjs"
    fi
    [ -n "${NA[js]:-}" ] && echo "run.sh: skip: JS runtime: ${NA[js]}" >&2
else
    NA[js]="not selected"
fi
order=()
for r in pooled fresh js; do [ -n "${CMD[$r]:-}" ] && order+=("$r"); done
[ ${#order[@]} -gt 0 ] || die "no runtime to run"

if [ -z "$out" ]; then
    out=$(mktemp -d /tmp/genkit-bench.XXXXXX) || die "mktemp failed"
else
    mkdir -p "$out" || die "cannot create $out"
    rm -f "$out"/runs.tsv "$out"/meta.tsv
fi
mkdir -p "$out/json" "$out/logs"

# Durations. Every run is bounded: --duration/-n, -t (per request), and an outer timeout.
if [ $quick = 1 ]; then
    W=0.5s D=1s D_OPEN=1s NCANCEL=5 JS_CRASH_N=100 JS_SPIN=0
else
    W=1s D=5s D_OPEN=5s NCANCEL=100 JS_CRASH_N=200 JS_SPIN=1
fi
COMMON=(--json -q -t 10 --connect-timeout 30 --kill-timeout 3)   # later scenario flags win

# scenario name | runtimes | loadtest arguments
SCEN=(
    "rps-c1|pooled fresh js|-s rps -c 1 -w $W -d $D"
    "rps-c16|pooled fresh js|-s rps -c 16 -w $W -d $D"
    "rps-c64|pooled fresh js|-s rps -c 64 -w $W -d $D"
    "idle|pooled fresh js|-s rps -r 10 -d 2s --sample-ms 50"
    "open|pooled fresh js|-s rps -r $rate -w $W -d $D_OPEN"
    "stream|pooled fresh js|-s stream --chunks 1000 -c 1 -w $W -d $D"
    "cancel-spin|pooled fresh|-s cancel -n $NCANCEL"
    "cancel-sleep|pooled fresh js|-s cancel -k /flow/sleep -i {\"ms\":60000} -n $NCANCEL"
    "crash|pooled fresh|-s crash-mix -c 8 --crash-ratio 0.1 -d $D"
    "crash|js|-s crash-mix -c 8 --crash-ratio 0.1 -n $JS_CRASH_N -t 3"
)
# Once (first repeat, full run only): JS against /flow/spin, to show it cannot cancel it.
[ $JS_SPIN = 1 ] && SCEN+=("js-spin-once|js|-s cancel -n 1 -t 2 --kill-timeout 1")

tsv() { local IFS=$'\t'; printf '%s\n' "$*"; }
# busy,total jiffies of the whole machine: the report subtracts our own CPU (client +
# runtime tree) to show how much other processes took during each run.
cpu_jiffies() { awk '/^cpu / {t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6 "," t; exit}' /proc/stat; }
{
    tsv started "$(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    tsv invocation "tools/bench/run.sh ${argv[*]}"
    tsv src "$SRC"
    tsv build "$build"
    tsv repeats "$repeats"
    tsv quick "$quick"
    tsv rate "$rate"
    tsv nproc "$(nproc)"
    tsv clk_tck "$(getconf CLK_TCK)"
    tsv loadavg_start "$(cut -d' ' -f1-3 /proc/loadavg)"
    tsv cpu "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
    tsv kernel "$(uname -srm)"
    tsv mem_kb "$(awk '/^MemTotal/ {print $2}' /proc/meminfo)"
    tsv os "$( (. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME") )"
    tsv commit "$(git -C "$SRC" rev-parse --short HEAD 2>/dev/null)$(cd "$SRC" && git diff --quiet HEAD -- meson.build proto ipc worker supervisor tools/demo 2>/dev/null || echo ' (+ uncommitted changes to the runtime sources)')"
    tsv buildtype "$(meson introspect --buildoptions "$build" 2>/dev/null | python3 -c 'import json,sys; o={x["name"]:x["value"] for x in json.load(sys.stdin)}; print(o.get("buildtype","?"), "b_sanitize=" + str(o.get("b_sanitize","none")))' 2>/dev/null)"
    tsv node "$(command -v node >/dev/null && node --version)"
    tsv genkit_js "$(sed -n 's/^ *"version": "\(.*\)",*$/\1/p' "$JSDIR/node_modules/genkit/package.json" 2>/dev/null | head -1)"
    for r in pooled fresh js; do
        [ -n "${CMD[$r]:-}" ] && tsv "cmd_$r" "${CMD[$r]}"
        [ -n "${NA[$r]:-}" ] && tsv "na_$r" "${NA[$r]}"
    done
} >"$out/meta.tsv"

nruns=0
for rep in $(seq 1 "$repeats"); do
    for s in "${SCEN[@]}"; do
        IFS='|' read -r name rts args <<<"$s"
        [ "$name" = js-spin-once ] && [ "$rep" != 1 ] && continue
        for r in "${order[@]}"; do
            case " $rts " in *" $r "*) nruns=$((nruns + 1)) ;; esac
        done
    done
done
echo "run.sh: $nruns runs (${order[*]}), $repeats repeat(s); raw results in $out" >&2

failed=0
i=0
t_all=$(date +%s)
for rep in $(seq 1 "$repeats"); do
    # rotate the runtime order every repeat
    rot=()
    for k in "${!order[@]}"; do rot+=("${order[$(((k + rep - 1) % ${#order[@]}))]}"); done
    for s in "${SCEN[@]}"; do
        IFS='|' read -r name rts args <<<"$s"
        [ "$name" = js-spin-once ] && [ "$rep" != 1 ] && continue
        for r in "${rot[@]}"; do
            case " $rts " in *" $r "*) ;; *) continue ;; esac
            i=$((i + 1))
            base="$name-$r-$rep"
            read -ra a <<<"$args"
            cmd=("$LT" "${COMMON[@]}" "${a[@]}" --runtime-log "$out/logs/$base.log" -- ${CMD[$r]})
            s0=$(cpu_jiffies)
            t0=$(date +%s.%N)
            timeout -k 5 120 "${cmd[@]}" >"$out/json/$base.json" 2>"$out/logs/$base.stderr"
            rc=$?
            t1=$(date +%s.%N)
            s1=$(cpu_jiffies)
            secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}')
            # Expected: JS dies on /flow/crash and never answers a cancel of /flow/spin.
            expect=0
            case $name-$r in crash-js|js-spin-once-js) expect=1 ;; esac
            # Fresh mode may be slower than the open-loop rate (it was ~260
            # actions/s on a PVM guest): falling behind is a result, not a failure.
            [ "$name-$r" = open-fresh ] && [ $rc = 1 ] && expect=1
            status=ok
            if ! python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$out/json/$base.json" 2>/dev/null; then
                status="FAILED (no JSON report, rc $rc)"
                failed=1
            elif [ $rc != $expect ]; then
                status="FAILED (rc $rc, expected $expect)"
                failed=1
            fi
            printf 'run.sh: [%d/%d] %-13s %-6s rep %d  %5ss  %s\n' \
                "$i" "$nruns" "$name" "$r" "$rep" "$secs" "$status" >&2
            [ "$status" = ok ] || sed 's/^/    /' "$out/logs/$base.stderr" | tail -5 >&2
            tsv "$rep" "$name" "$r" "$rc" "$expect" "$secs" "$s0 $s1" "json/$base.json" "${cmd[*]}" >>"$out/runs.tsv"
        done
    done
done
tsv finished "$(date -u '+%Y-%m-%d %H:%M:%S UTC')" >>"$out/meta.tsv"
tsv loadavg_end "$(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/meta.tsv"
tsv wall_s "$(($(date +%s) - t_all))" >>"$out/meta.tsv"

if [ $write = 1 ]; then
    python3 "$SRC/tools/bench/report.py" "$out" --output "$output" || exit 2
    echo "run.sh: wrote $output" >&2
else
    python3 "$SRC/tools/bench/report.py" "$out" || exit 2
fi
[ $failed = 0 ] || echo "run.sh: some runs failed; see $out/logs" >&2
exit $failed
