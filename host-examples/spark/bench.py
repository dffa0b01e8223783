#!/usr/bin/env python3
"""The Spark job's benchmark: events/s at 1, 10 and 100 tenants on local[2], where the time goes,
snapshot bytes per tenant and the state store's size (``make bench-spark``).

Input: one generated tenant day (``snowyowl generate --scenario tenant``), its records dealt round
robin to N tenants (a distinct GUID each), so every run carries the same records over the same
event time, and a tenant of the 100-tenant run is a hundredth of the day. The files are all there
before the query starts; one file per micro-batch. Each run is a fresh query (checkpoint, state)
in one Spark session, so the runs after the first find the Python workers warm, as a long-running
job does. Timers never fire (idle and retirement far off): only the processing of input is timed.

Figures: wall time of the micro-batches with input (Spark's ``triggerExecution``), events/s over
them and over them without the first (worker start-up, imports); per phase, the seconds the
workers spent restoring, pushing, snapshotting and compressing (``profile`` rows), routing lines to
tenants (timed here, offline, on the same lines), and the rest of the two cores' time: Spark's
own work (scheduling, shuffle, Arrow transfers, state store, sink) and cores left idle. The same
runs again with no engine at all (``SNOWYOWL_SPARK_ENGINE=null`` in the workers) measure that
pipeline alone. Then the engine alone with this host (push, snapshot, restore of the bundled
scenarios) and, if the Node host is built, the same through jco, for comparison. Those are the
inputs of the projection in the README.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

import streams  # noqa: E402
from snowyowl_spark import job, output, runtime  # noqa: E402
from snowyowl_spark.tenant import tenant_of  # noqa: E402


def tenant_guid(n: int) -> str:
    return f"{n:08x}-0000-4000-8000-{n:012x}"


def write_stream(base: list[bytes], tenants: int, files: int, directory: Path) -> None:
    """``base`` dealt round robin to ``tenants`` tenants, in its own order, cut into ``files``."""
    directory.mkdir(parents=True)
    guids = [tenant_guid(n + 1).encode() for n in range(tenants)]
    lines = [line.replace(streams.SCENARIO_TENANT, guids[i % tenants]) for i, line in enumerate(base)]
    size = -(-len(lines) // files)
    for n in range(files):
        path = directory / f"part-{n:03}.ndjson"
        path.write_bytes(b"\n".join(lines[n * size : (n + 1) * size]) + b"\n")
        os.utime(path, (1_700_000_000 + n * 10,) * 2)


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def run(spark, tenants: int, base: list[bytes], work: Path, args) -> dict:
    directory = work / f"run-{tenants}"
    write_stream(base, tenants, args.files, directory / "in")
    options = job.parser().parse_args(
        [
            "--input", str(directory / "in"), "--output", str(directory / "out"),
            "--checkpoint", str(directory / "checkpoint"), "--trigger", "0.5",
            "--idle-after", "864000", "--retire-after", "8640000", "--profile",
        ]  # fmt: skip
    )
    query = job.start(spark, options)
    progress: dict[int, dict] = {}
    seen_input = False
    while query.isActive:
        query.awaitTermination(0.5)
        for update in query.recentProgress:
            report = json.loads(update.json) if hasattr(update, "json") else update
            progress[report["batchId"]] = report
        latest = progress[max(progress)] if progress else None
        if latest and latest["numInputRows"] > 0:
            seen_input = True
        if seen_input and latest and latest["numInputRows"] == 0:
            break
    while query.isActive and query.status.get("isTriggerActive"):
        time.sleep(0.05)  # stop between micro-batches, not inside one
    query.stop()
    if query.exception():
        raise RuntimeError(query.exception())
    batches = [p for _, p in sorted(progress.items()) if p["numInputRows"] > 0]
    events = sum(p["numInputRows"] for p in batches)
    wall = sum(p["durationMs"]["triggerExecution"] for p in batches) / 1000
    steady = batches[1:]
    steady_wall = sum(p["durationMs"]["triggerExecution"] for p in steady) / 1000
    rows = output.read(directory / "out")
    profile = [json.loads(j) for j in rows[rows.kind == "profile"].json]
    phases = {k: sum(p.get(k, 0) for p in profile) / 1000 for k in ("restore_ms", "push_ms", "snapshot_ms", "pack_ms")}
    last: dict[str, dict] = {}  # each tenant's latest stored snapshot
    for p, tenant in zip(profile, rows[rows.kind == "profile"].tenant):
        if "stored_bytes" in p and p["at_ms"] >= last.get(tenant, {"at_ms": -1})["at_ms"]:
            last[tenant] = p
    tenants_only = [p for tenant, p in last.items() if tenant]  # not the lines that name none
    raw = [p["snapshot_bytes"] for p in tenants_only]
    stored = [p["stored_bytes"] for p in tenants_only]
    operator = (batches[-1].get("stateOperators") or [{}])[0]
    lines = [line for path in sorted((directory / "in").iterdir()) for line in path.read_bytes().split(b"\n") if line]
    started = time.perf_counter()
    for line in lines:
        tenant_of(line)
    routing = time.perf_counter() - started
    return {
        "tenants": tenants,
        "events": events,
        "bytes": sum(len(line) for line in lines),
        "batches": len(batches),
        "wall_s": round(wall, 2),
        "events_per_s": round(events / wall) if wall else None,
        "steady_events_per_s": round(sum(p["numInputRows"] for p in steady) / steady_wall) if steady_wall else None,
        "phases_s": {k.removesuffix("_ms"): round(v, 2) for k, v in phases.items()},
        "routing_s": round(routing, 2),
        "findings": int((rows.kind == "finding").sum()),
        "snapshot_bytes_median": int(statistics.median(raw)) if raw else 0,
        "snapshot_bytes_max": max(raw, default=0),
        "stored_bytes_median": int(statistics.median(stored)) if stored else 0,
        "stored_bytes_total": sum(p["stored_bytes"] for p in last.values()),
        "state_rows": operator.get("numRowsTotal"),
        "state_memory_bytes": operator.get("memoryUsedBytes"),
        "rocksdb_sst_bytes": (operator.get("customMetrics") or {}).get("rocksdbSstFileSize"),
        "checkpoint_state_bytes": du(directory / "checkpoint" / "state"),
        "processes": len({p["pid"] for p in profile}),
        "component_loads": sorted({json.dumps(p["component"], sort_keys=True) for p in profile}),
    }


def engine_alone() -> list[dict]:
    """The engine alone with the installed Python host: push, snapshot, restore."""
    import snowyowl

    out = []
    for name in ("demo-tenant", "midnight-blizzard"):
        data = (ROOT / "tests/data" / f"{name}.ndjson").read_bytes()
        with snowyowl.Engine() as engine:
            started = time.perf_counter()
            engine.push(data)
            push = time.perf_counter() - started
            started = time.perf_counter()
            snapshot = engine.snapshot()
            snap = time.perf_counter() - started
        started = time.perf_counter()
        snowyowl.Engine.restore(snapshot).close()
        restore = time.perf_counter() - started
        out.append({"input": name, "events": data.count(b"\n"), "push_s": round(push, 3),
                    "snapshot_ms": round(snap * 1000, 1), "restore_ms": round(restore * 1000, 1),
                    "snapshot_bytes": len(snapshot)})  # fmt: skip
    return out


NODE_SCRIPT = """
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
const { createEngine, restoreEngine } = await import(pathToFileURL(process.argv[1]).href);
const out = [];
for (const name of ['demo-tenant', 'midnight-blizzard']) {
  const data = readFileSync(`${process.argv[2]}/${name}.ndjson`);
  const engine = createEngine();
  let t = performance.now(); engine.push(data); const push = performance.now() - t;
  let snapshot; const n = 20;
  t = performance.now(); for (let i = 0; i < n; i++) snapshot = engine.snapshot(); const snap = (performance.now() - t) / n;
  t = performance.now(); for (let i = 0; i < n; i++) restoreEngine({}, snapshot).dispose(); const restore = (performance.now() - t) / n;
  out.push({input: name, push_s: +(push / 1000).toFixed(3), snapshot_ms: +snap.toFixed(1), restore_ms: +restore.toFixed(1), snapshot_bytes: snapshot.length});
}
console.log(JSON.stringify(out));
"""


def engine_in_node(node_host: Path) -> list[dict]:
    index = node_host / "index.js"
    if not shutil.which("node") or not (node_host / "dist/snowyowl.js").exists():
        return []
    done = subprocess.run(
        ["node", "--input-type=module", "-e", NODE_SCRIPT, "--", str(index), str(ROOT / "tests/data")],
        capture_output=True, text=True,
    )  # fmt: skip
    return json.loads(done.stdout) if done.returncode == 0 else []


def table(results: dict) -> str:
    runs = results["runs"]
    out = [
        f"Host: {results['host']}; Spark {results['spark']}, local[2], {results['partitions']} state partitions, "
        f"{results['files']} micro-batches; input: {runs[0]['events']:,} records ({runs[0]['bytes'] / 1e6:.1f} MB) of "
        f"one tenant day dealt to N tenants. Component compiled once on the driver in "
        f"{results['precompile_s']} s, loaded by each worker.",
        "",
        "| tenants | wall s | events/s | without 1st batch | restore s | push s | snapshot s | compress s | routing s | rest of 2 cores s | snapshot kB (median, max) | stored kB (median) | state kB (all tenants) | RocksDB SST kB | checkpoint state kB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        p = r["phases_s"]
        busy = sum(p.values()) + r["routing_s"]
        out.append(
            f"| {r['tenants']} | {r['wall_s']} | {r['events_per_s']:,} | {r['steady_events_per_s']:,} | {p['restore']} | "
            f"{p['push']} | {p['snapshot']} | {p['pack']} | {r['routing_s']} | {max(0, round(2 * r['wall_s'] - busy, 1))} | "
            f"{r['snapshot_bytes_median'] / 1e3:.0f}, {r['snapshot_bytes_max'] / 1e3:.0f} | {r['stored_bytes_median'] / 1e3:.0f} | "
            f"{r['stored_bytes_total'] / 1e3:.0f} | {(r['rocksdb_sst_bytes'] or 0) / 1e3:.0f} | {r['checkpoint_state_bytes'] / 1e3:.0f} |"
        )
    out += [
        "",
        "The same runs with no engine (`SNOWYOWL_SPARK_ENGINE=null`: routing, Spark, Arrow, state "
        "and sink only):",
        "",
        "| tenants | wall s | events/s | without 1st batch |",
        "|---:|---:|---:|---:|",
    ]
    out += [f"| {r['tenants']} | {r['wall_s']} | {r['events_per_s']:,} | {r['steady_events_per_s']:,} |" for r in results["pipeline"]]
    for title, rows in (("The engine alone, the Python package", results["engine"]),
                        ("The engine alone, the Node host (jco)", results["node"])):  # fmt: skip
        if rows:
            out += ["", f"{title}:", "", "| input | events | push s | snapshot ms | restore ms | snapshot bytes |", "|---|---:|---:|---:|---:|---:|"]
            out += [f"| {r['input']} | {r.get('events', '')} | {r['push_s']} | {r['snapshot_ms']} | {r['restore_ms']} | {r['snapshot_bytes']:,} |" for r in rows]
    return "\n".join(out) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cli", type=Path, default=ROOT / "target/release/snowyowl")
    parser.add_argument("--out", type=Path, default=ROOT / "build/bench")
    parser.add_argument("--tenants", default="1,10,100")
    parser.add_argument("--events", type=int, default=10_000, help="background records of the tenant day")
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--files", type=int, default=10)
    parser.add_argument("--partitions", type=int, default=2)
    parser.add_argument("--node-host", type=Path, default=ROOT / "host-examples/node",
                        help="the Node host, built (make node), for the engine's costs through jco")  # fmt: skip
    args = parser.parse_args()

    generated = subprocess.run(
        [str(args.cli), "generate", "--scenario", "tenant", "--events", str(args.events), "--users", str(args.users)],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    base = [line for line in generated.split(b"\n") if line.strip()]
    started = time.perf_counter()
    runtime.precompile()
    precompile = time.perf_counter() - started
    spark = job.build_session("local[2]", args.partitions, app="snowyowl-bench")
    spark.sparkContext.setLogLevel("ERROR")
    results = {"host": runtime.host_name(), "spark": spark.version, "partitions": args.partitions,
               "files": args.files, "precompile_s": round(precompile, 2), "runs": []}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="snowyowl-spark-bench-") as work:
        for tenants in [int(n) for n in args.tenants.split(",")]:
            print(f"bench-spark: {tenants} tenant(s)…", file=sys.stderr)
            results["runs"].append(run(spark, tenants, base, Path(work), args))
            print(json.dumps(results["runs"][-1]), file=sys.stderr)
    spark.stop()
    # The same runs with no engine at all: what the pipeline around it costs.
    spark = job.build_session("local[2]", args.partitions, app="snowyowl-bench-pipeline",
                              conf={"spark.executorEnv.SNOWYOWL_SPARK_ENGINE": "null"})  # fmt: skip
    spark.sparkContext.setLogLevel("ERROR")
    results["pipeline"] = []
    with tempfile.TemporaryDirectory(prefix="snowyowl-spark-bench-") as work:
        for tenants in [int(n) for n in args.tenants.split(",")]:
            print(f"bench-spark: {tenants} tenant(s), no engine…", file=sys.stderr)
            results["pipeline"].append(run(spark, tenants, base, Path(work), args))
    spark.stop()
    results["engine"] = engine_alone()
    results["node"] = engine_in_node(args.node_host)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "spark.json").write_text(json.dumps(results, indent=2) + "\n")
    text = table(results)
    (args.out / "spark.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
