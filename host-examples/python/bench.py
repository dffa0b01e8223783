#!/usr/bin/env python3
"""make bench: the component through the Python package on a file, timed as the component mode of
snowyowl-bench is (the file read into memory and cut into batches of 2,000 lines first, the
compile not timed), the best of ROUNDS runs; then the snapshot of the state at the end of the
file, written and read back, and what compiling and loading a precompiled artifact take.

    python3 bench.py FILE [--rounds N]  → one JSON line
"""

import argparse
import json
import time

import snowyowl
from snowyowl import Engine, _native

# `snowyowl scan`'s default batch, as the CLI and snowyowl-bench push it.
BATCH_LINES = 2000
SEED = 12345


def batches(data: bytes) -> list[bytes]:
    lines = data.splitlines(keepends=True)
    return [b"".join(lines[i : i + BATCH_LINES]) for i in range(0, len(lines), BATCH_LINES)]


def run(chunks: list[bytes]) -> dict:
    engine = Engine(seed=SEED)
    events = findings = 0
    start = time.perf_counter()
    for chunk in chunks:
        pushed = engine.push(chunk)
        events += pushed.accepted + pushed.ignored + len(pushed.rejected)
        findings += len(pushed.findings)
    findings += len(engine.flush())
    return {"seconds": time.perf_counter() - start, "events": events, "findings": findings}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    data = open(args.file, "rb").read()
    chunks = batches(data)

    component = snowyowl.component_path().read_bytes()
    start = time.perf_counter()
    runtime = _native.Runtime.compile(component)
    compile_seconds = time.perf_counter() - start
    artifact = runtime.serialize()
    start = time.perf_counter()
    _native.Runtime.load(artifact)
    load_seconds = time.perf_counter() - start
    snowyowl.load_precompiled(artifact)

    best = min((run(chunks) for _ in range(args.rounds)), key=lambda r: r["seconds"])

    # The state at the end of the file (before the final flush closes it).
    engine = Engine(seed=SEED)
    for chunk in chunks:
        engine.push(chunk)
    start = time.perf_counter()
    snapshot = engine.snapshot()
    snapshot_write = time.perf_counter() - start
    start = time.perf_counter()
    Engine.restore(snapshot, seed=SEED)
    snapshot_read = time.perf_counter() - start

    print(json.dumps({
        "mode": "python",
        **best,
        "bytes": len(data),
        "runs": args.rounds,
        "compile_seconds": compile_seconds,
        "artifact_bytes": len(artifact),
        "load_precompiled_seconds": load_seconds,
        "snapshot_bytes": len(snapshot),
        "snapshot_write_seconds": snapshot_write,
        "snapshot_read_seconds": snapshot_read,
    }))


if __name__ == "__main__":
    main()
