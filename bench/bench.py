#!/usr/bin/env python3
"""make bench: every figure of BENCHMARKS.md, measured in one run on one generated file.

Usage: python3 bench/bench.py [--events N] [--users N] [--out build/bench] [--startup-only]
Expects `make build fluent-bit node python` done, target/release/snowyowl-bench built, and (optional)
`rsigma` on PATH and PyPI `duckdb` importable; a peer that is missing is reported as such.
Beside speed, precision: recall of the planted attacks, findings at medium or above that name no
attacker entity (must be 0), findings per 1,000 users per day, and the queue of the benign-only
day (`--scenario tenant-benign`, the same day without the attacks, scanned with `snowyowl scan
--engine native`: nothing at medium or above).
Prints a table and writes OUT/results.json and OUT/results.md.
"""

import argparse
import ipaddress
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = ROOT / "target/release/snowyowl"
BENCH = ROOT / "target/release/snowyowl-bench"
# The Python package as `make python` installs it.
VENV_PYTHON = ROOT / "build/venv/bin/python"


def run_json(cmd, **kwargs):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT, **kwargs).stdout
    return json.loads(out.strip().splitlines()[-1])


def timed_child(cmd, stdout=subprocess.DEVNULL):
    """A whole run of one child process: wall seconds, peak RSS (bytes) and CPU seconds (user and
    system, every thread)."""
    start = time.perf_counter()
    child = subprocess.Popen(cmd, cwd=ROOT, stdout=stdout, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    if status != 0:
        raise RuntimeError(f"{cmd[0]} failed with status {status}")
    return {"seconds": seconds, "peak_rss": usage.ru_maxrss * 1024, "cpu_seconds": usage.ru_utime + usage.ru_stime}


def generate(scenario, events, users, path, truth=None):
    # A file written by an older build of the generator (which is in the CLI) is written again.
    fresh = path.exists() and path.stat().st_size > 0 and path.stat().st_mtime >= CLI.stat().st_mtime
    if fresh and (truth is None or truth.exists()):
        return
    cmd = [CLI, "generate", "--scenario", scenario, "--events", str(events), "--users", str(users), "-o", path]
    if truth:
        cmd += ["--truth", truth]
    subprocess.run(cmd, check=True, cwd=ROOT)


WHOLE_RUNS = 2


def best_of(runs, measure):
    """The fastest of `runs` calls of `measure` (each returns a dict with "seconds"): the shared
    machine this runs on varies by tens of percent from one run to the next."""
    best = min((measure() for _ in range(runs)), key=lambda result: result["seconds"])
    return {**best, "runs": runs}


def startup(out, runs=7):
    """How long `snowyowl scan` takes on a three-line file: the start-up cost of each way to get
    the component ready (median wall seconds of `runs` runs, after one untimed run)."""
    three = out / "three-lines.ndjson"
    demo = (ROOT / "tests/data/demo-tenant.ndjson").read_text().splitlines(keepends=True)
    three.write_text("".join(demo[:3]))
    cache = out / "startup-cache"
    shutil.rmtree(cache, ignore_errors=True)
    component = ROOT / "build/snowyowl.wasm"
    scan = [CLI, "scan", "--quiet", "--seed", "1"]
    ways = {
        "built_in": scan + [three],
        "component_cold": scan + ["--component", component, "--no-cache", three],
        "component_cached": scan + ["--component", component, "--cache-dir", cache, three],
        "native": scan + ["--engine", "native", three],
    }
    results = {}
    for name, cmd in ways.items():
        timed_child(cmd)  # the page cache, and for the cached way its cache
        times = sorted(timed_child(cmd)["seconds"] for _ in range(runs))
        results[name] = {"seconds": times[len(times) // 2], "runs": runs}
    three.unlink()
    shutil.rmtree(cache, ignore_errors=True)
    return results


def render_startup(r):
    lines = ["| start-up: `snowyowl scan` of three lines | median wall ms |", "|---|---:|"]
    for name, key in [("built-in component (compiled when the binary was built)", "built_in"),
                      ("`--component` file, compiled on every run (`--no-cache`)", "component_cold"),
                      ("`--component` file, from the cache (compiled by an earlier run)", "component_cached"),
                      ("`--engine native`", "native")]:
        result = r.get(key, {})
        if "seconds" in result:
            lines.append(f"| {name} | {result['seconds'] * 1000:,.0f} |")
        else:
            lines.append(f"| {name} | {result.get('error', 'not run')} |")
    return "\n".join(lines) + "\n"


def rate(result):
    return result["events"] / result["seconds"], result["bytes"] / result["seconds"] / 1e6


# OCSF severity_id: 3 is Medium, 4 High, 5 Critical.
MEDIUM = 3
SEVERITY_ORDER = {"Informational": 1, "Low": 2, "Medium": 3, "High": 4, "Critical": 5}


def read_findings(path):
    """Each finding once, as it stands last (its latest record by uid), in the order first seen."""
    latest = {}
    for line in Path(path).read_text().splitlines():
        if line:
            f = json.loads(line)
            latest[f["finding_info"]["uid"]] = f
    return list(latest.values())


def entities(f):
    return {o["value"] for o in f.get("observables", [])}


def by_detector(findings):
    """Findings per detector and severity: {detector: {severity: count}}."""
    table = {}
    for f in findings:
        row = table.setdefault(f["finding_info"]["analytic"]["uid"], {})
        row[f.get("severity", "?")] = row.get(f.get("severity", "?"), 0) + 1
    return dict(sorted(table.items()))


def queue(findings, users):
    """How many findings an analyst gets: all emitted, and at medium or above, also per 1,000
    users per day (the file is one day)."""
    medium = [f for f in findings if f.get("severity_id", 0) >= MEDIUM]
    return {
        "findings": len(findings),
        "medium_or_above": len(medium),
        "per_1000_users_day": round(len(findings) * 1000 / max(users, 1), 3),
        "medium_or_above_per_1000_users_day": round(len(medium) * 1000 / max(users, 1), 3),
        "by_detector": by_detector(findings),
        "medium_or_above_titles": [f["finding_info"]["title"] for f in medium[:20]],
    }


def quality(findings_path, truth_path):
    truth = json.loads(Path(truth_path).read_text())
    findings = read_findings(findings_path)
    recall = {}
    for attack in truth["attacks"]:
        hit = any(
            f["finding_info"]["analytic"]["uid"] in attack["detectors"] and set(attack["entities"]) <= entities(f)
            for f in findings
        )
        recall[attack["name"]] = hit
    known = truth["attack_entities"]
    users = set(known["users"])
    apps = set(known["apps"])
    networks = [ipaddress.ip_network(n, strict=False) for n in known["ips"]]

    def attack_related(f):
        for value in entities(f):
            if value in users or value in apps:
                return True
            try:
                address = ipaddress.ip_address(value)
            except ValueError:
                continue
            if any(address in n for n in networks):
                return True
        return False

    false = [f for f in findings if not attack_related(f)]
    false_medium = [f for f in false if f.get("severity_id", 0) >= MEDIUM]
    users_count = truth.get("users", 0)
    return {
        "recall": recall,
        "recall_rate": sum(recall.values()) / max(len(recall), 1),
        "findings": len(findings),
        "false_findings": len(false),
        "false_examples": [f["finding_info"]["title"] for f in false[:5]],
        # Findings at medium or above that name no attacker entity: must be 0.
        "false_medium_or_above": len(false_medium),
        "false_medium_or_above_titles": [f["finding_info"]["title"] for f in false_medium[:20]],
        **{k: v for k, v in queue(findings, users_count).items() if k != "findings"},
    }


def benign_day(cli_findings, truth_path):
    """The queue on the benign-only day (same tenant, look-alikes and all, no attack)."""
    truth = json.loads(Path(truth_path).read_text())
    return queue(read_findings(cli_findings), truth.get("users", 0))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=int(os.environ.get("BENCH_EVENTS", 1_000_000)))
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--out", default="build/bench")
    parser.add_argument("--startup-only", action="store_true",
                        help="measure only how long the CLI takes to start (seconds, no generated tenant)")
    args = parser.parse_args()
    out = ROOT / args.out
    out.mkdir(parents=True, exist_ok=True)
    if args.startup_only:
        print(render_startup(startup(out)))
        return
    results = {"events": args.events, "users": args.users}
    started = time.perf_counter()

    main_file = out / f"tenant-{args.events}.ndjson"
    truth = out / f"tenant-{args.events}.truth.json"
    print(f"generating {main_file.name} ({args.events:,} records, {args.users:,} users)…", flush=True)
    t = time.perf_counter()
    generate("tenant", args.events, args.users, main_file, truth)
    results["generate_seconds"] = time.perf_counter() - t
    results["file_bytes"] = main_file.stat().st_size
    results["records"] = json.loads(truth.read_text()).get("records", {})
    sizes = sorted(len(line) for line in open(main_file, "rb"))
    results["records"]["total"] = len(sizes)
    results["record_bytes"] = {"median": sizes[len(sizes) // 2], "p99": sizes[int(len(sizes) * 0.99)], "max": sizes[-1]}
    del sizes

    def step(name, fn):
        print(f"  {name}…", flush=True)
        try:
            results[name] = fn()
        except Exception as error:  # a missing peer must not hide the other figures
            results[name] = {"error": str(error)}
            print(f"    {name}: {error}", file=sys.stderr)

    # The in-memory modes in turns (one run of each per round, three rounds, the fastest of each
    # reported), so that the machine's slow spells fall on them alike and their ratios hold.
    in_memory = {"ignored-any": "ignored_any", "typed": "typed", "normalize": "normalize",
                 "native": "native", "component": "component", "fluent-bit": "fluent_bit",
                 "fluent-bit-interpreted": "fluent_bit_interpreted", "fluent-bit-counted": "fluent_bit_counted"}
    findings_file = out / "findings-native.ndjson"
    findings_file.unlink(missing_ok=True)  # a previous run's must not stand in for this one's
    fb_records = min(args.events, 100_000)

    def measure_in_memory():
        cmd = [BENCH, ",".join(in_memory), main_file, "--records", str(fb_records), "--findings", findings_file]
        stdout = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT).stdout
        for line in stdout.strip().splitlines():
            result = json.loads(line)
            results[in_memory[result["mode"]]] = result
        return {"modes": list(in_memory.values())}

    step("in_memory", measure_in_memory)
    if shutil.which("node") and (ROOT / "host-examples/node/dist/snowyowl.js").exists():
        step("node", lambda: best_of(WHOLE_RUNS, lambda: run_json(
            ["node", "--single-threaded-gc", "host-examples/node/bench.mjs", main_file])))
    else:
        results["node"] = {"error": "node or host-examples/node/dist missing (make node)"}
    if VENV_PYTHON.exists():
        step("python", lambda: run_json([VENV_PYTHON, "host-examples/python/bench.py", main_file]))
    else:
        results["python"] = {"error": "build/venv missing (make python)"}

    def cli(engine):
        return timed_child([CLI, "scan", "--quiet", "--engine", engine, main_file])

    step("cli_component", lambda: best_of(WHOLE_RUNS, lambda: cli("component")))
    step("cli_native", lambda: best_of(WHOLE_RUNS, lambda: cli("native")))

    # State per tracked key under the stress variants.
    for scenario, key in [("tenant-distinct-ips", "state_distinct_ips"), ("tenant-distinct-users", "state_distinct_users")]:
        path = out / f"{scenario}-{args.events}.ndjson"
        generate(scenario, args.events, args.users, path)
        step(key, lambda path=path: {
            # Only the weighing counts here: one timed round.
            k: v for k, v in run_json([BENCH, "native", path, "--rounds", "1"]).items() if k != "stats"
        })
        path.unlink(missing_ok=True)

    # Peers.
    if shutil.which("rsigma"):
        def rsigma():
            with open(out / "rsigma.out", "w") as stdout:
                result = timed_child(
                    ["rsigma", "engine", "eval", "-r", "bench/peers/spray.sigma.yml", "-e", f"@{main_file}",
                     "--timestamp-field", "properties.createdDateTime"],
                    stdout=stdout,
                )
            with open(out / "rsigma.out") as alerts:
                return {**result, "output_lines": sum(1 for _ in alerts)}
        step("rsigma", lambda: best_of(WHOLE_RUNS, rsigma))
    else:
        results["rsigma"] = {"error": "rsigma not installed (make bench-peers)"}
    try:
        import duckdb  # noqa: F401

        def duck(threads, query):
            code = (
                "import duckdb, json, sys, time\n"
                "con = duckdb.connect(); con.execute(f'SET threads = {sys.argv[1]}')\n"
                "con.execute('SET enable_progress_bar = false')\n"
                "t = time.perf_counter(); rows = con.sql(sys.argv[2]).fetchall()\n"
                "print(json.dumps({'query_seconds': time.perf_counter() - t, 'rows': len(rows)}))\n"
            )
            answer = out / "duckdb.out"
            with open(answer, "w") as stdout:
                result = timed_child([sys.executable, "-c", code, str(threads), query], stdout=stdout)
            return {**result, **json.loads(answer.read_text().strip().splitlines()[-1])}

        spray = (ROOT / "bench/peers/spray.sql").read_text().replace("{file}", str(main_file))
        threads = os.cpu_count() or 1
        step("duckdb", lambda: best_of(WHOLE_RUNS, lambda: duck(threads, spray)))
        step("duckdb_1_thread", lambda: best_of(WHOLE_RUNS, lambda: duck(1, spray)))
        # DuckDB's own floor: only splitting the file into JSON lines, no field read.
        lines_only = f"SELECT count(*) FROM read_ndjson_objects('{main_file}')"
        step("duckdb_lines", lambda: best_of(WHOLE_RUNS, lambda: duck(threads, lines_only)))
    except ImportError:
        results["duckdb"] = {"error": "PyPI duckdb not installed"}

    # The floor of every whole run: reading the file (from the page cache, as they all do).
    step("read_file", lambda: best_of(WHOLE_RUNS, lambda: timed_child(["cat", main_file])))

    def measure_quality():
        if not findings_file.exists():
            # The in-memory run did not write them (a build missing): the CLI's native engine, untimed.
            subprocess.run([CLI, "scan", "--quiet", "--engine", "native", "-o", findings_file, main_file],
                           check=True, cwd=ROOT)
        return quality(findings_file, truth)

    step("quality", measure_quality)

    # The benign-only day: the same tenant day without the attacks; its queue must hold nothing at
    # medium or above.
    benign_file = out / f"tenant-benign-{args.events}.ndjson"
    benign_truth = out / f"tenant-benign-{args.events}.truth.json"
    benign_findings = out / "findings-benign.ndjson"

    def benign():
        generate("tenant-benign", args.events, args.users, benign_file, benign_truth)
        run = timed_child([CLI, "scan", "--quiet", "--engine", "native", "-o", benign_findings, benign_file])
        benign_file.unlink(missing_ok=True)
        return {**benign_day(benign_findings, benign_truth), "seconds": run["seconds"]}

    step("startup", lambda: startup(out))
    print("  benign day…", flush=True)
    try:
        results["benign_day"] = benign()
    except Exception as error:
        results["benign_day"] = {"error": str(error)}
        print(f"    benign_day: {error}", file=sys.stderr)
    results["bench_seconds"] = time.perf_counter() - started
    results["machine"] = {
        "cpu": next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor()),
        "cores": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "kernel": platform.release(),
    }
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    table = render(results)
    (out / "results.md").write_text(table)
    print()
    print(table)


def render(r):
    records = r.get("records", {})
    parts = [f"{records[key]:,} {name}" for key, name in
             [("warm_up", "warm-up"), ("background", "background"), ("look_alikes", "look-alikes"), ("attacks", "attacks")]
             if key in records]
    lines = [
        f"Generated tenant: {records.get('total', r['events']):,} records ({', '.join(parts) or 'background'}; "
        f"{r['file_bytes'] / 1e6:,.0f} MB; record median "
        f"{r['record_bytes']['median']:,} B, p99 {r['record_bytes']['p99']:,} B, max {r['record_bytes']['max']:,} B), "
        f"{r['users']:,} users. Machine: {r['machine']['cpu']}, {r['machine']['cores']} cores.",
        "",
        "| what | events/s | MB/s | ratio | notes |",
        "|---|---:|---:|---:|---|",
    ]

    def row(name, key, ratio_to=None, notes=""):
        result = r.get(key, {})
        if "error" in result or "seconds" not in result:
            lines.append(f"| {name} | – | – | – | {result.get('error', 'not run')} |")
            return
        events, mb = rate(result)
        ratio = ""
        if ratio_to:
            parts = []
            for label, other in ratio_to:
                base = r.get(other, {})
                if "seconds" in base:
                    parts.append(f"{events / rate(base)[0]:.2f}× {label}")
            ratio = ", ".join(parts)
        lines.append(f"| {name} | {events:,.0f} | {mb:,.0f} | {ratio} | {notes} |")

    row("parse floor: serde_json → IgnoredAny", "ignored_any")
    row("parse floor: serde_json → typed borrowed struct", "typed", [("IgnoredAny", "ignored_any")])
    row("snowyowl normalize only: records → typed events", "normalize", [("IgnoredAny", "ignored_any")],
        "no engine, no detectors")
    native = r.get("native", {})
    row("snowyowl native core, every detector", "native", [("IgnoredAny", "ignored_any"), ("typed", "typed")],
        f"{native.get('findings', '?')} findings")
    component = r.get("component", {})
    row("snowyowl component in wasmtime", "component", [("native", "native")],
        f"compile {component.get('compile_seconds', 0):.1f} s (not timed); peak linear memory {component.get('peak_linear_memory', 0) / 2**20:,.0f} MiB")
    row("snowyowl component in Node (jco)", "node", [("native", "native")])
    py = r.get("python", {})
    row("snowyowl component in Python (native module)", "python", [("component", "component"), ("native", "native")],
        f"snapshot of the state at the end, {py.get('snapshot_bytes', 0) / 1e6:,.1f} MB: read back in "
        f"{py.get('snapshot_read_seconds', 0):.2f} s, written in {py.get('snapshot_write_seconds', 0):.2f} s; "
        f"compile {py.get('compile_seconds', 0):.1f} s, precompiled artifact loads in "
        f"{py.get('load_precompiled_seconds', 0) * 1000:,.0f} ms")
    # The Fluent Bit module, record by record, compiled (as `wamrc` compiles it for WAMR) and
    # interpreted (as WAMR's interpreter, Fluent Bit's default, runs it).
    for name, key, base in [("Fluent Bit ABI compiled (wasmtime's Cranelift, like `wamrc`), per record", "fluent_bit", None),
                            ("Fluent Bit ABI interpreted (wasmtime's Pulley, like WAMR's interpreter)", "fluent_bit_interpreted",
                             ("compiled", "fluent_bit"))]:
        fb = r.get(key, {})
        notes = ""
        if "seconds" in fb:
            notes = (f"{fb['seconds'] / fb['events'] * 1e6:.1f} µs per record over {fb['events']:,} records; "
                     f"module loaded in {fb.get('load_seconds', 0):.2f} s")
        counted = r.get("fluent_bit_counted", {})
        if base is None and counted.get("instructions"):
            notes += f"; {counted['instructions'] / counted['events']:,.0f} WebAssembly instructions per record"
        row(name, key, [("native", "native")] + ([base] if base else []), notes)
    lines += ["", "| whole run | wall s | CPU s | peak RSS MiB |", "|---|---:|---:|---:|"]
    for name, key in [("reading the file (`cat` into /dev/null)", "read_file"),
                      ("snowyowl scan (component, CLI)", "cli_component"), ("snowyowl scan --engine native", "cli_native"),
                      ("RSigma 0.23 (2 correlation rules)", "rsigma"), ("DuckDB (all threads), Python's start included", "duckdb"),
                      ("DuckDB (1 thread)", "duckdb_1_thread"), ("DuckDB, lines only (`count(*)`, all threads)", "duckdb_lines")]:
        result = r.get(key, {})
        if "seconds" in result:
            lines.append(f"| {name} | {result['seconds']:.1f} | {result['cpu_seconds']:.1f} | {result['peak_rss'] / 2**20:,.0f} |")
        else:
            lines.append(f"| {name} | – | – | {result.get('error', 'not run')} |")
    native = r.get("cli_native", {})
    if "seconds" in native:
        for name, key in [("RSigma", "rsigma"), ("DuckDB (all threads)", "duckdb"), ("DuckDB (1 thread)", "duckdb_1_thread")]:
            peer = r.get(key, {})
            if "seconds" in peer:
                lines.append(f"\n{name} / snowyowl native (whole runs): {peer['seconds'] / native['seconds']:.2f}× in wall time, "
                             f"{peer['cpu_seconds'] / native['cpu_seconds']:.2f}× in CPU time (every thread)")
    duck, floor, split = r.get("duckdb", {}), r.get("read_file", {}), r.get("duckdb_lines", {})
    if "seconds" in duck and "seconds" in floor and "seconds" in split:
        lines.append(f"\n3× DuckDB (all threads) would be {duck['seconds'] / 3:.2f} s for the whole run; reading the file "
                     f"takes {floor['seconds']:.2f} s, and DuckDB only splitting it into lines {split['seconds']:.2f} s.")
    lines += ["", "| state | tracked keys | state bytes | bytes per key |", "|---|---:|---:|---:|"]
    for name, key in [("tenant, realistic", "native"), ("every sign-in from a new IP", "state_distinct_ips"),
                      ("every sign-in by a new user", "state_distinct_users")]:
        result = r.get(key, {})
        if "tracked_entries" in result and result["tracked_entries"]:
            lines.append(f"| {name} | {result['tracked_entries']:,} | {result['state_bytes']:,} | {result['state_bytes'] / result['tracked_entries']:.0f} |")
    q = r.get("quality", {})
    if "recall" in q:
        lines += ["", "| planted attack | found |", "|---|---|"]
        lines += [f"| {name} | {'yes' if hit else '**no**'} |" for name, hit in q["recall"].items()]
        lines += ["", f"Recall {q['recall_rate'] * 100:.0f} %; {q['findings']} findings, {q['false_findings']} on the benign population"
                  + (f" (e.g. {'; '.join(q['false_examples'])})" if q["false_examples"] else "") + "."]
    benign = r.get("benign_day", {})
    if "false_medium_or_above" in q or benign:
        lines += ["", "| precision | tenant day | benign-only day |", "|---|---:|---:|"]

        def cell(d, key):
            return f"{d[key]:,}" if key in d else "–"
        lines.append(f"| findings at medium or above naming no attacker entity (must be 0) | "
                     f"{cell(q, 'false_medium_or_above')} | {cell(benign, 'medium_or_above')} |")
        lines.append(f"| findings (distinct, every severity emitted) | {cell(q, 'findings')} | {cell(benign, 'findings')} |")
        lines.append(f"| findings at medium or above | {cell(q, 'medium_or_above')} | {cell(benign, 'medium_or_above')} |")
        lines.append(f"| findings per 1,000 users per day | {cell(q, 'per_1000_users_day')} | {cell(benign, 'per_1000_users_day')} |")
        lines.append(f"| at medium or above, per 1,000 users per day | {cell(q, 'medium_or_above_per_1000_users_day')} | "
                     f"{cell(benign, 'medium_or_above_per_1000_users_day')} |")
        for name, titles in [("tenant day", q.get("false_medium_or_above_titles")),
                             ("benign-only day", benign.get("medium_or_above_titles"))]:
            if titles:
                lines.append(f"\n**Findings at medium or above about the benign population ({name})**: " + "; ".join(titles) + ".")
        if "error" in benign:
            lines.append(f"\nBenign-only day: {benign['error']}")
        detectors = sorted(set(q.get("by_detector", {})) | set(benign.get("by_detector", {})))
        if detectors:
            lines += ["", "| detector | tenant day | benign-only day |", "|---|---|---|"]

            def counts(d, detector):
                row = d.get("by_detector", {}).get(detector, {})
                return ", ".join(f"{n} {sev.lower()}" for sev, n in sorted(row.items(), key=lambda kv: -SEVERITY_ORDER.get(kv[0], 0))) or "0"
            lines += [f"| {d} | {counts(q, d)} | {counts(benign, d)} |" for d in detectors]
    lines += ["", f"Benchmark wall time: {r['bench_seconds'] / 60:.1f} min (generation {r['generate_seconds']:.0f} s)."]
    lines += ["", render_startup(r.get("startup", {})).rstrip("\n")]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
