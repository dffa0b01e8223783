#!/usr/bin/env python3
"""Scans an NDJSON file with snowyowl and prints a summary (no pandas needed).

    python3 example.py ../../tests/data/midnight-blizzard.ndjson
"""

import sys
from collections import Counter

from snowyowl import Engine

BATCH_BYTES = 4 << 20


def scan(path: str) -> None:
    findings, rejected, line = [], 0, 0
    with Engine() as engine, open(path, "rb") as file:
        pending = b""
        while True:
            chunk = file.read(BATCH_BYTES)
            data = pending + chunk
            end = data.rfind(b"\n") + 1 if chunk else len(data)
            batch, pending = data[:end], data[end:]
            if batch:
                pushed = engine.push(batch)
                findings += pushed.findings
                for r in pushed.rejected:
                    rejected += 1
                    if rejected <= 10:
                        print(f"{path}:{line + r.line}: {r.kind}: {r.reason}", file=sys.stderr)
                line += batch.count(b"\n")
            if not chunk:
                break
        findings += engine.flush()
        stats = engine.stats()
    print(f"{stats['records']} records, {stats['accepted']} events, {rejected} rejected, {len(findings)} findings")
    for (severity, detector), count in sorted(Counter((f.severity, f.detector) for f in findings).items()):
        print(f"  {count:4}  {severity:<8} {detector}")
    chains = [f for f in findings if f.detector == "attack-chain"]
    if chains:
        last = chains[-1].ocsf
        print(f"\n{last['finding_info']['title']}\n  {last['message']}")


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip(), file=sys.stderr)
        sys.exit(0 if len(sys.argv) == 2 else 2)
    scan(sys.argv[1])
