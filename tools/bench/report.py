#!/usr/bin/env python3
"""Aggregates the genkit-loadtest JSON reports written by tools/bench/run.sh into
BENCHMARKS.md: medians over the repeats (with their spread), ratios to the JS runtime,
and the issue's targets.

    report.py OUTDIR [--output FILE]      (stdout without --output)

OUTDIR holds meta.tsv (machine, options), runs.tsv (rep, scenario, runtime, rc,
expected rc, seconds, json file, command) and json/*.json.
"""
import argparse
import json
import os
import shlex
import statistics
import sys

RTS = ("pooled", "fresh", "js")
TITLE = {"pooled": "pooled", "fresh": "fresh", "js": "JS"}


def load(outdir):
    meta = {}
    with open(os.path.join(outdir, "meta.tsv")) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("\t")
            meta[k] = v
    runs = []
    path = os.path.join(outdir, "runs.tsv")
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                p = line.rstrip("\n").split("\t", 8)
                if len(p) < 9:
                    continue
                rep, name, rt, rc, expect, secs, jiffies, jfile, cmd = p
                try:
                    with open(os.path.join(outdir, jfile)) as jf:
                        d = json.load(jf)
                except (OSError, ValueError):
                    d = None
                runs.append(dict(rep=int(rep), name=name, rt=rt, rc=int(rc),
                                 expect=int(expect), secs=float(secs), cmd=cmd, d=d,
                                 jiffies=jiffies))
    return meta, runs


def get(d, path):
    for k in path.split("."):
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def foreign_share(r, meta):
    """Share of the machine's CPU (0..1) used by processes other than the client and the
    runtime tree during run r, from /proc/stat jiffies around it."""
    try:
        a, b = r["jiffies"].split(" ")
        b0, t0 = (int(x) for x in a.split(","))
        b1, t1 = (int(x) for x in b.split(","))
        hz = int(meta.get("clk_tck") or 100)
    except (ValueError, KeyError):
        return None
    d = r["d"]
    if d is None or t1 <= t0:
        return None
    ours_us = sum(get(d, k) or 0 for k in ("runtime.total_cpu_user_us",
                                            "runtime.total_cpu_sys_us",
                                            "loadtest_cpu_us.user", "loadtest_cpu_us.sys"))
    busy_us = (b1 - b0) / hz * 1e6
    total_us = (t1 - t0) / hz * 1e6
    return max(0.0, (busy_us - ours_us) / total_us)


def rt_cores(d):
    r = d.get("runtime") or {}
    if not r.get("window_s") or r.get("cpu_us") is None:
        return None
    return r["cpu_us"] / 1e6 / r["window_s"]


def client_cpu(d):
    c, n = d.get("loadtest_cpu_us") or {}, get(d, "requests.sent")
    if not n or c.get("user") is None:
        return None
    return (c["user"] + c["sys"]) / n


# Process names (comm, 15 characters at most) as the report calls them.
PROC_TITLE = {"genkit-supervis": "supervisor", "genkit-worker": "zygote + workers",
              "(reaped)": "reaped processes", "node": "node"}


def by_process(name, key):
    """runtime.by_process[name][key] per measured request."""
    def f(d):
        b = (get(d, "runtime.by_process") or {}).get(name)
        n = get(d, "requests.measured")
        return b[key] / n if b and n else None
    return f


class Data:
    def __init__(self, meta, runs):
        self.meta, self.runs = meta, runs
        self.present = {rt for rt in RTS if "cmd_" + rt in meta}

    def vals(self, name, rt, path):
        out = []
        for r in self.runs:
            if r["name"] == name and r["rt"] == rt and r["d"] is not None:
                v = path(r["d"]) if callable(path) else get(r["d"], path)
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    out.append(float(v))
        return out

    def med(self, name, rt, path):
        v = self.vals(name, rt, path)
        return statistics.median(v) if v else None

    def total(self, name, rt, path):
        v = self.vals(name, rt, path)
        return sum(v) if v else None

    def n(self, name, rt):
        return sum(1 for r in self.runs if r["name"] == name and r["rt"] == rt and r["d"])


# ---- formatting -------------------------------------------------------------

def fnum(v, digits=0):
    if v is None:
        return "–"
    if digits == 0:
        return f"{v:,.0f}".replace(",", " ")
    return f"{v:,.{digits}f}".replace(",", " ")


def ftime(us):
    """µs → '649 µs' / '2.58 ms' / '1.20 s'."""
    if us is None:
        return "–"
    if us < 0:
        return "−" + ftime(-us)
    if us < 1000:
        return f"{us:.0f} µs"
    if us < 1e6:
        return f"{us / 1e3:.3g} ms" if us < 1e5 else f"{us / 1e3:.0f} ms"
    return f"{us / 1e6:.2f} s"


def fmb(kb):
    return "–" if kb is None else f"{kb / 1024:.1f} MB"


def spread(vals):
    """Half the range relative to the median, when there is more than one value."""
    if len(vals) < 2:
        return ""
    m = statistics.median(vals)
    if not m:
        return ""
    return f" ±{(max(vals) - min(vals)) / 2 / abs(m) * 100:.0f}%"


def ratio(a, b):
    if a is None or b is None or not b:
        return "–"
    r = a / b
    return f"{r:.2f}×" if r < 10 else f"{r:.1f}×"


class Table:
    def __init__(self, data, cols):
        self.data, self.cols = data, cols
        self.rows = []

    def na(self, rt):
        return self.data.meta.get("na_" + rt)


def header(cols, extra):
    h = "| | " + " | ".join(cols + extra) + " |"
    return h + "\n|" + "---|" * (1 + len(cols) + len(extra))


def metric_table(D, name_of, rows, rts, ratio_to_js=True, na_text=None):
    """rows: (label, scenario-key-arg, path, formatter).  name_of(arg) → scenario name."""
    cols = [TITLE[rt] for rt in rts]
    extra = []
    if ratio_to_js and "js" in rts:
        extra = [f"{TITLE[rt]} ÷ JS" for rt in rts if rt != "js"]
    lines = [header(cols, extra)]
    for row in rows:
        label, arg, path, fmt = row[:4]
        no_ratio = len(row) > 4 and row[4]
        name = name_of(arg)
        cells, meds = [], {}
        for rt in rts:
            if rt not in D.present:
                cells.append("n/a")
                continue
            if na_text and (name, rt) in na_text:
                cells.append(na_text[(name, rt)])
                continue
            v = D.vals(name, rt, path)
            if not v:
                cells.append("–")
                continue
            m = statistics.median(v)
            meds[rt] = m
            cells.append(fmt(m) + spread(v))
        if extra:
            for rt in rts:
                if rt != "js":
                    cells.append("" if no_ratio else ratio(meds.get(rt), meds.get("js")))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


# ---- report -----------------------------------------------------------------

def shorten(cmd, meta, outdir):
    b, src = meta.get("build", ""), meta.get("src", "")
    out = []
    for a in cmd.split(" "):
        if b and a.startswith(b + "/"):
            a = "$B/" + a[len(b) + 1:]
        elif src and a.startswith(src + "/"):
            a = a[len(src) + 1:]
        elif a.startswith(outdir.rstrip("/") + "/"):
            a = "$OUT/" + a[len(outdir.rstrip("/")) + 1:]
        q = shlex.quote(a)
        if a.startswith("$") and q != a:
            q = '"' + a + '"'
        out.append(q)
    return " ".join(out)


def targets(D):
    t = []
    p, js = "pooled", "js"
    have_js = js in D.present
    have_p = p in D.present

    def m(name, rt, path):
        return D.med(name, rt, path) if rt in D.present else None

    # 1. throughput ≥ 3× JS at C=16 and C=64
    r16 = (m("rps-c16", p, "throughput_rps"), m("rps-c16", js, "throughput_rps"))
    r64 = (m("rps-c64", p, "throughput_rps"), m("rps-c64", js, "throughput_rps"))
    if None in r16 + r64:
        t.append(("≥ 3× JS throughput at C=16 and C=64", "–", "not measured (needs pooled and JS)"))
    else:
        q16, q64 = r16[0] / r16[1], r64[0] / r64[1]
        ok = q16 >= 3 and q64 >= 3
        t.append(("≥ 3× JS throughput at C=16 and C=64", "✅" if ok else "❌",
                  f"{q16:.2f}× at C=16 ({fnum(r16[0])} vs {fnum(r16[1])} req/s), "
                  f"{q64:.2f}× at C=64 ({fnum(r64[0])} vs {fnum(r64[1])} req/s)."))
    # 2. ≤ 30 µs runtime CPU per request (all three concurrencies)
    cpu = {c: m(f"rps-c{c}", p, "runtime.cpu_us_per_request") for c in (1, 16, 64)}
    if None in cpu.values():
        t.append(("≤ 30 µs runtime CPU per request", "–", "not measured"))
    else:
        worst = max(cpu.values())
        jsc = {c: m(f"rps-c{c}", js, "runtime.cpu_us_per_request") for c in (1, 64)}
        t.append(("≤ 30 µs runtime CPU per request", "✅" if worst <= 30 else "❌",
                  "supervisor + workers: " + ", ".join(f"{cpu[c]:.0f} µs at C={c}" for c in cpu)
                  + (f" (JS: {jsc[1]:.0f} µs at C=1, {jsc[64]:.0f} µs at C=64)"
                     if None not in jsc.values() else "")
                  + "; judged on the worst of the three."
                  + (" At C=1 nothing overlaps: each request pays three sleeps and wake-ups "
                     "across two processes (see Where the time goes)." if cpu[1] > 30 else "")))
    # 3. p50 at C=1 no worse than JS
    a, b = m("rps-c1", p, "latency_us.p50"), m("rps-c1", js, "latency_us.p50")
    if a is None or b is None:
        t.append(("p50 at C=1 no worse than JS", "–", "not measured (needs pooled and JS)"))
    else:
        t.append(("p50 at C=1 no worse than JS", "✅" if a <= b else "❌",
                  f"{ftime(a)} vs JS {ftime(b)} ({a / b:.2f}×) for one /flow/echo round trip."))
    # 4. ≥ 150k chunks/s
    c = m("stream", p, "scenario_stats.chunks_per_s")
    if c is None:
        t.append(("≥ 150k chunks/s", "–", "not measured"))
    else:
        jc = m("stream", js, "scenario_stats.chunks_per_s")
        t.append(("≥ 150k chunks/s", "✅" if c >= 150e3 else "❌",
                  f"{fnum(c / 1e3, 1)}k chunks/s on /flow/count n=1000, one stream at a time"
                  + (f" (JS {fnum(jc / 1e3, 1)}k)." if jc else ".")))
    # 5. cancel of /flow/spin p99 ≤ 5 ms
    rep = m("cancel-spin", p, "scenario_stats.cancel_reply.p99")
    fin = m("cancel-spin", p, "scenario_stats.cancelled_error.p99")
    if rep is None or fin is None:
        t.append(("cancel of /flow/spin p99 ≤ 5 ms", "–", "not measured"))
    else:
        t.append(("cancel of /flow/spin p99 ≤ 5 ms", "✅" if fin <= 5000 else "❌",
                  f"p99 {ftime(fin)} from cancelAction to the run's CANCELLED error "
                  f"(the worker is gone), {ftime(rep)} to the cancel reply; judged on the former. "
                  "JS cannot cancel it at all."))
    # 6. idle RSS ≤ 10 MB
    rss = m("idle", p, "runtime.peak_tree_rss_kb")
    if rss is None:
        t.append(("idle RSS of supervisor + pool ≤ 10 MB", "–", "not measured"))
    else:
        procs = m("idle", p, "runtime.peak_processes")
        jr = m("idle", js, "runtime.peak_tree_rss_kb")
        t.append(("idle RSS of supervisor + pool ≤ 10 MB", "✅" if rss <= 10240 else "❌",
                  f"{fmb(rss)} summed over {procs:.0f} processes (shared pages counted in each)"
                  + (f"; JS {fmb(jr)}." if jr else ".")))
    if not have_p:
        t = [(a, "–", "pooled runtime not run") for a, _, _ in t]
    return t, have_js


def render(D, outdir):
    meta = D.meta
    o = []
    w = o.append
    reps = meta.get("repeats", "?")
    quick = meta.get("quick") == "1"
    w("# Benchmarks: genkit-supervisor vs the Genkit JS runtime\n")
    w("Generated by `tools/bench/run.sh` (raw JSON from `genkit-loadtest --json`, aggregated by "
      "`tools/bench/report.py`); rerun it rather than editing the numbers by hand.")
    if quick:
        w("\n**This is a `--quick` smoke pass: 1 s measurements, not a benchmark.**")
    w("")
    w("- **pooled**: `genkit-supervisor --demo` (workers kept, default `--workers` = CPUs, grows up to 64)")
    w("- **fresh**: `genkit-supervisor --demo --mode fresh` (one forked process per action)"
      + (f" — **n/a: {meta['na_fresh']}**" if "na_fresh" in meta else ""))
    w("- **JS**: `node tools/bench/js-runtime/runtime.mjs` (genkit "
      + (meta.get("genkit_js") or "?") + ", node " + (meta.get("node") or "?") + ", same demo flows)"
      + (f" — **n/a: {meta['na_js']}**" if "na_js" in meta else ""))
    w("")
    w(f"Every cell is the **median of {reps} run(s)**"
      + (", ±x% = half the range of the runs relative to the median" if reps != "1" else "")
      + ". Runs alternate between the runtimes scenario by scenario (the first runtime rotates "
      "every repeat); each run starts a new runtime process, warms up, then measures. "
      "The client is the same `genkit-loadtest` for every runtime, on the same cores, so its own "
      "CPU is part of the picture (it is not in the runtime CPU column). "
      "Latency is from the `runAction` send to its reply, in the client. "
      "**÷ JS** = ours divided by JS: above 1 is better for req/s and chunks/s, below 1 is better "
      "for times, CPU and memory.\n")

    w("## Machine\n")
    mem = meta.get("mem_kb")
    w(f"- date: {meta.get('started', '?')} → {meta.get('finished', '?')} "
      f"({int(meta.get('wall_s', 0)) // 60} min {int(meta.get('wall_s', 0)) % 60} s)")
    w(f"- CPU: {meta.get('cpu', '?')}, nproc {meta.get('nproc', '?')}")
    w(f"- kernel: {meta.get('kernel', '?')}; OS: {meta.get('os', '?')}")
    w(f"- memory: {int(mem) / 1024 / 1024:.1f} GiB" if mem else "- memory: ?")
    w(f"- genkit-supervisor: commit {meta.get('commit', '?')}, meson buildtype "
      f"{meta.get('buildtype', '?')}")
    fs = sorted(x for x in (foreign_share(r, meta) for r in D.runs) if x is not None)
    if fs:
        busy = sum(1 for x in fs if x > 0.10)
        w(f"- other load: load average {meta.get('loadavg_start', '?')} at the start, "
          f"{meta.get('loadavg_end', '?')} at the end; processes other than the client and "
          f"the runtime used a median {statistics.median(fs) * 100:.0f} % of the machine's CPU "
          f"during a run (max {fs[-1] * 100:.0f} %; {busy} of {len(fs)} runs above 10 %)"
          + (" — **the machine was shared: treat the spreads as real**" if busy > len(fs) // 10
             else ""))
    w("")

    def rps_rows(c):
        return [
            ("req/s", c, "throughput_rps", fnum),
            ("p50", c, "latency_us.p50", ftime),
            ("p99", c, "latency_us.p99", ftime),
            ("runtime CPU µs / request", c, "runtime.cpu_us_per_request", lambda v: fnum(v, 1)),
            ("runtime cores busy", c, rt_cores, lambda v: f"{v:.2f}"),
            ("client CPU µs / request (whole life ÷ sent)", c, client_cpu, lambda v: fnum(v, 1)),
            ("peak RSS of the tree", c, "runtime.peak_tree_rss_kb", fmb),
            ("peak processes", c, "runtime.peak_processes", fnum, True),
        ]

    w("## Closed loop: /flow/echo `{\"a\":1}`\n")
    w("`-s rps -c C`: C runs in flight, a new one as soon as one finishes. Runtime CPU is the "
      "whole process tree's run time over the measured window ÷ requests (schedstat, "
      "nanoseconds); cores busy = that CPU ÷ the window (2 cores here, shared with the client). "
      "RSS is summed over the tree's processes (sampled every 200 ms). Pooled: `--workers` "
      "(= CPUs) workers; the pool grows only for runs held up by slow ones, so short echoes "
      "keep it at its size, and busy workers are handed their next short run in advance "
      "(`--prefetch-us`).\n")
    for c in (1, 16, 64):
        w(f"### C = {c}\n")
        w(metric_table(D, lambda c: f"rps-c{c}", rps_rows(c), RTS))
        w("")

    # The runtime CPU column above, split by process name.
    rows = []
    for rt in RTS:
        if rt not in D.present:
            continue
        names = []
        for r in D.runs:
            if r["rt"] == rt and r["name"].startswith("rps-c") and r["d"]:
                for n in get(r["d"], "runtime.by_process") or {}:
                    if n not in names:
                        names.append(n)
        order = list(PROC_TITLE)
        names.sort(key=lambda n: (order.index(n) if n in order else len(order), n))
        for n in names:
            cells = []
            for c in (1, 16, 64):
                cpu = D.vals(f"rps-c{c}", rt, by_process(n, "cpu_us"))
                runs = D.vals(f"rps-c{c}", rt, by_process(n, "runs"))
                cells.append(f"{fnum(statistics.median(cpu), 1)} µs" if cpu else "–")
                cells.append(f"{statistics.median(runs):.2f}" if runs and n != "(reaped)" else "–")
            if any(x not in ("–", "0.0 µs", "0.00") for x in cells):
                rows.append(f"| {TITLE[rt]}: {PROC_TITLE.get(n, n)} | " + " | ".join(cells) + " |")
    if rows:
        w("### Runtime CPU by process\n")
        w("The same runs, per request: CPU of the processes of each name, and how often they were "
          "put on a CPU (schedstat's run count: about one per wake-up). Reaped processes are "
          "counted when their parent collects them, under their own row.\n")
        w("| | C=1 CPU | C=1 runs | C=16 CPU | C=16 runs | C=64 CPU | C=64 runs |")
        w("|---|---|---|---|---|---|---|")
        for r in rows:
            w(r)
        w("")

    w("## Idle RSS right after ready\n")
    w("`-s rps -r 10 -d 2s --sample-ms 50`: the runtime has registered and answers 10 echo/s; "
      "peak RSS summed over its process tree (pooled: supervisor + zygote + `--workers` workers).\n")
    w(metric_table(D, lambda _: "idle", [
        ("RSS of the tree", 0, "runtime.peak_tree_rss_kb", fmb),
        ("processes", 0, "runtime.peak_processes", fnum, True),
        ("largest process VmHWM", 0, "runtime.peak_process_hwm_kb", fmb),
        ("time from spawn to register", 0, "runtime.ready_s", lambda v: ftime(v * 1e6)),
    ], RTS))
    w("")

    rate = meta.get("rate", "2000")
    fresh_cap = D.med("rps-c16", "fresh", "throughput_rps") if "fresh" in D.present else None
    w(f"## Open loop at {rate} requests/s\n")
    w(f"`-s rps -r {rate}`: requests are sent on a fixed schedule whatever the replies do; "
      "latency counts from the intended send time (no coordinated omission).\n")
    fresh_open = D.med("open", "fresh", "throughput_rps") if "fresh" in D.present else None
    na = {}
    if "fresh" in D.present and fresh_open is None:  # results from before fresh ran here
        na = {("open", "fresh"): "n/a"}
        w("fresh: not run at this rate" + (f" (its capacity: ≈ {fnum(fresh_cap)} actions/s at C=16)"
                                           if fresh_cap else "") + ".\n")
    elif fresh_open is not None and fresh_open < 0.95 * float(rate):
        w(f"fresh falls behind: {fnum(fresh_open)} of {rate} requests/s"
          + (f" (its capacity: ≈ {fnum(fresh_cap)} actions/s at C=16)" if fresh_cap else "")
          + ", so its queue grows and its latencies with it.\n")
    w(metric_table(D, lambda _: "open", [
        ("achieved req/s", 0, "throughput_rps", fnum),
        ("p50", 0, "latency_us.p50", ftime),
        ("p99", 0, "latency_us.p99", ftime),
        ("p99.9", 0, "latency_us.p99_9", ftime),
        ("max", 0, "latency_us.max", ftime),
        ("runtime CPU µs / request", 0, "runtime.cpu_us_per_request", lambda v: fnum(v, 1)),
    ], RTS, na_text=na))
    w("")

    w("## Stream: /flow/count `{\"n\":1000}`\n")
    w("`-s stream --chunks 1000 -c 1`: one streaming run at a time; chunks/s over the measured "
      "window, time to first chunk from the `runAction` send.\n")
    w(metric_table(D, lambda _: "stream", [
        ("chunks/s", 0, "scenario_stats.chunks_per_s", fnum),
        ("time to first chunk p50", 0, "scenario_stats.time_to_first_chunk.p50", ftime),
        ("time to first chunk p99", 0, "scenario_stats.time_to_first_chunk.p99", ftime),
        ("whole run (1000 chunks) p50", 0, "latency_us.p50", ftime),
        ("runtime CPU µs / run", 0, "runtime.cpu_us_per_request", fnum),
    ], RTS))
    w("")

    w("## Cancel\n")
    w("`-s cancel`: start the action, wait for its `runActionState`, send `cancelAction`; "
      "times from the cancel: its reply, the run's final error (expected CANCELLED), and the "
      "first successful /flow/echo after both. With 100 iterations per run (full pass), a "
      "p99 is the second-worst iteration of a run.\n")
    cancel_rows = lambda: [
        ("to cancel reply p50", 0, "scenario_stats.cancel_reply.p50", ftime),
        ("to cancel reply p99", 0, "scenario_stats.cancel_reply.p99", ftime),
        ("to final CANCELLED error p50", 0, "scenario_stats.cancelled_error.p50", ftime),
        ("to final CANCELLED error p99", 0, "scenario_stats.cancelled_error.p99", ftime),
        ("to next successful echo p50", 0, "scenario_stats.next_echo.p50", ftime),
        ("to next successful echo p99", 0, "scenario_stats.next_echo.p99", ftime),
        ("iterations (all runs)", 0, "scenario_stats.cancel_ok", None),
    ]

    def cancel_table(name, rts, na=None):
        rows = []
        for label, a, path, fmt in cancel_rows():
            if fmt is None:
                continue
            rows.append((label, a, path, fmt))
        txt = metric_table(D, lambda _: name, rows, rts, na_text=na)
        # counts: totals over all runs
        cells = []
        for rt in rts:
            if rt not in D.present or (na and (name, rt) in na):
                cells.append("n/a")
                continue
            ok = D.total(name, rt, "scenario_stats.final_cancelled")
            it = D.total(name, rt, "scenario_stats.cancel_ok")
            fl = D.total(name, rt, "scenario_stats.cancel_failed")
            cells.append(f"{fnum(ok)} cancelled / {fnum(it)} cancel ok / {fnum(fl)} cancel failed"
                         if ok is not None else "–")
        extra = len(txt.split("\n")[0].split("|")) - 3 - len(rts)
        txt += "\n| totals over all runs | " + " | ".join(cells + [""] * extra) + " |"
        return txt

    w("### /flow/spin (a busy loop that ignores the abort signal)\n")
    jsna = {("cancel-spin", "js"): "n/a (cannot)"}
    w(cancel_table("cancel-spin", RTS, jsna))
    w("")
    spin = [r for r in D.runs if r["name"] == "js-spin-once" and r["d"]]
    if spin:
        d = spin[0]["d"]
        w(f"JS cannot cancel a busy loop: the flow never yields, so the event loop that would "
          f"read `cancelAction` is blocked. Measured once (`-n 1 -t 2`): cancel reply "
          f"{'never came' if get(d, 'scenario_stats.cancel_failed') else 'came'}, "
          f"{fnum(get(d, 'requests.lost'))} request(s) lost to the 2 s timeout (the spin, the "
          f"cancel, the next echo), and the runtime had to be "
          f"{'killed (SIGKILL)' if get(d, 'runtime.killed') else 'stopped'} at the end.\n")
    else:
        w("JS cannot cancel a busy loop: the flow never yields, so the event loop that would "
          "read `cancelAction` is blocked; the runtime stays deaf until it is killed (not run "
          "in this pass).\n")
    w("### /flow/sleep `{\"ms\":60000}` (a timer that honours the abort signal)\n")
    w("The only cancel JS can do; ours still kills the worker.\n")
    w(cancel_table("cancel-sleep", RTS))
    w("")

    w("## Crash mix: /flow/crash among /flow/echo\n")
    w("`-s crash-mix -c 8 --crash-ratio 0.1`: 10 % of the runs are /flow/crash (SIGSEGV in the "
      "action), the rest are echoes tagged with their own input. Expected: every crash → Status 13 "
      "INTERNAL, every echo → its own input. Counts are totals over all runs.\n")
    rts = [rt for rt in ("pooled", "fresh") if rt in D.present]
    if rts:
        w("| | " + " | ".join(TITLE[r] for r in rts) + " |")
        w("|---|" + "---|" * len(rts))
        rows = [
            ("runs sent", "requests.sent"), ("crashes sent", "scenario_stats.crash_sent"),
            ("crash → Status 13", "scenario_stats.crash_ok"),
            ("crash → wrong reply", "scenario_stats.crash_wrong"),
            ("echo → own input", "scenario_stats.echo_ok"),
            ("echo → wrong reply", "scenario_stats.echo_wrong"),
            ("echo → error", "scenario_stats.echo_error"),
            ("lost", "requests.lost"), ("protocol violations", "violations.total"),
        ]
        for label, path in rows:
            w(f"| {label} | " + " | ".join(fnum(D.total("crash", r, path)) for r in rts) + " |")
        w("| req/s (median) | " + " | ".join(
            fnum(D.med("crash", r, "throughput_rps")) for r in rts) + " |")
        w("| echo p99 (median) | " + " | ".join(
            ftime(D.med("crash", r, "scenario_stats.echo_latency.p99")) for r in rts) + " |")
        w("")
    if "js" in D.present:
        n = D.n("crash", "js")
        sig = D.vals("crash", "js", "runtime.exit_signal")
        w(f"JS dies on the first crash: the whole runtime is one process. Over {n} run(s): "
          f"{fnum(D.total('crash', 'js', 'scenario_stats.crash_sent'))} crash(es) sent, "
          f"{fnum(D.total('crash', 'js', 'requests.ok'))} good replies, "
          f"{fnum(D.total('crash', 'js', 'requests.lost'))} requests lost (everything in flight), "
          f"{fnum(D.total('crash', 'js', 'requests.disconnects'))} disconnect(s), runtime exit "
          f"signal {', '.join(str(int(s)) for s in sig) or '?'}; every later request would be lost "
          "too until something restarts it.\n")
    else:
        w("JS dies on the first crash (the whole runtime is one process); not run in this pass.\n")

    w("## Fresh vs pooled: per-action overhead\n")
    w("Same closed-loop echo runs as above. Overhead = fresh − pooled (a fork from the zygote into "
      "a new PID namespace, through a vfork-style intermediate, and the teardown, per action; the plugins stay loaded in the zygote).\n")
    if "fresh" in D.present and "pooled" in D.present:
        w("| | pooled | fresh | fresh − pooled | fresh ÷ pooled |")
        w("|---|---|---|---|---|")
        for label, name, path, fmt in [
            ("p50 at C=1", "rps-c1", "latency_us.p50", ftime),
            ("p99 at C=1", "rps-c1", "latency_us.p99", ftime),
            ("p50 at C=16", "rps-c16", "latency_us.p50", ftime),
            ("p99 at C=16", "rps-c16", "latency_us.p99", ftime),
            ("actions/s at C=1", "rps-c1", "throughput_rps", fnum),
            ("actions/s at C=16", "rps-c16", "throughput_rps", fnum),
            ("actions/s at C=64", "rps-c64", "throughput_rps", fnum),
            ("runtime CPU µs / action at C=16", "rps-c16", "runtime.cpu_us_per_request", fnum),
            ("cancel /flow/spin → CANCELLED p50", "cancel-spin",
             "scenario_stats.cancelled_error.p50", ftime),
        ]:
            a, b = D.med(name, "pooled", path), D.med(name, "fresh", path)
            diff = "–" if a is None or b is None else (
                fmt(b - a) if "actions/s" not in label else "")
            w(f"| {label} | {fmt(a)} | {fmt(b)} | {diff} | {ratio(b, a)} |")
        a1, b1 = D.med("rps-c1", "pooled", "throughput_rps"), D.med("rps-c1", "fresh", "throughput_rps")
        if a1 and b1:
            w(f"\nSerially (C=1), an action costs {ftime(1e6 / b1)} fresh vs {ftime(1e6 / a1)} "
              f"pooled: ≈ {ftime(1e6 / b1 - 1e6 / a1)} of overhead per action.")
        w("")
    else:
        w("n/a: " + (meta.get("na_fresh") or "fresh or pooled not run") + ".\n")

    w("## Targets\n")
    w("From the issue: pooled workers, same client, same run.\n")
    ts, _ = targets(D)
    w("| target | | measured |")
    w("|---|---|---|")
    for name, mark, line in ts:
        w(f"| {name} | {mark} | {line} |")
    w("")

    # Hand-written analysis lives beside this script, so reruns keep it.
    notes = os.path.join(os.path.dirname(os.path.abspath(__file__)), "where-the-time-goes.md")
    if os.path.exists(notes):
        with open(notes) as f:
            w(f.read().rstrip() + "\n")
    else:
        w("## Where the time goes\n")
        w("(no tools/bench/where-the-time-goes.md)\n")

    w("## How these numbers were made\n")
    w("```sh")
    w("meson setup $B . && ninja -C $B      # B = " + meta.get("build", "?"))
    w("(cd tools/bench/js-runtime && npm ci)")
    w(meta.get("invocation", "tools/bench/run.sh").rstrip() + ("  # --build $B" if "--build" not in meta.get("invocation", "") else ""))
    w("```\n")
    first = next((r for r in D.runs), None)
    if first:
        w("Every run is one `genkit-loadtest` process that spawns a new runtime, e.g. (repeat 1, "
          "`$OUT` is the raw-results dir; the JSON report goes to stdout):\n")
        w("```sh")
        w(shorten(first["cmd"], meta, outdir))
        w("```\n")
        w("i.e. `$B/tools/loadtest/genkit-loadtest` + the common flags + the scenario's flags "
          "(later flags win) + `--runtime-log $OUT/logs/NAME.log -- RUNTIME`, with RUNTIME:\n")
        for rt in RTS:
            if "cmd_" + rt in meta:
                w(f"- {TITLE[rt]}: `{shorten(meta['cmd_' + rt], meta, outdir)}`")
        w("\n| scenario | runtimes | common + scenario flags |")
        w("|---|---|---|")
        rows = {}
        for r in D.runs:
            parts = r["cmd"].split(" ")
            try:
                end = parts.index("--runtime-log")
            except ValueError:
                end = len(parts)
            flags = " ".join(shlex.quote(a) for a in parts[1:end])
            key = (r["name"], flags)
            rows.setdefault(key, [])
            if TITLE[r["rt"]] not in rows[key]:
                rows[key].append(TITLE[r["rt"]])
        for (name, flags), rts_ in rows.items():
            w(f"| {name} | {', '.join(rts_)} | `{flags}` |")
        w("")
    bad = [r for r in D.runs if r["rc"] != r["expect"] or r["d"] is None]
    if bad:
        w("### Runs that failed\n")
        for r in bad:
            w(f"- {r['name']} / {TITLE[r['rt']]} repeat {r['rep']}: exit {r['rc']} "
              f"(expected {r['expect']})" + ("" if r["d"] else ", no JSON report")
              + (f"; lost {fnum(get(r['d'], 'requests.lost'))}, wrong "
                 f"{fnum(get(r['d'], 'requests.wrong'))}, violations "
                 f"{fnum(get(r['d'], 'violations.total'))}" if r["d"] else ""))
        w("")
    return "\n".join(o)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--output", help="write here instead of stdout")
    a = ap.parse_args()
    meta, runs = load(a.outdir)
    text = render(Data(meta, runs), a.outdir)
    if a.output:
        tmp = a.output + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, a.output)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
