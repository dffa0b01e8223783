#!/usr/bin/env python3
"""Three tenants' logs mixed on one stream, through the job; their findings apart (make spark-example).

    python example.py --cli ../../target/release/snowyowl --work ../../build/spark-example

Generates the demo, midnight-blizzard and app-abuse scenarios, gives each a tenant GUID of its own,
merges them by time into files, runs the job on local[2] until every tenant has gone quiet and
retired, and prints each tenant's findings as they stand last.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import streams  # noqa: E402
from snowyowl_spark import job, output  # noqa: E402

TENANTS = {
    "demo": "aaaaaaaa-0000-4000-8000-000000000001",
    "midnight-blizzard": "bbbbbbbb-0000-4000-8000-000000000002",
    "app-abuse": "cccccccc-0000-4000-8000-000000000003",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cli", type=Path, default=HERE.parents[1] / "target/release/snowyowl")
    parser.add_argument("--work", type=Path, default=HERE.parents[1] / "build/spark-example")
    args = parser.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    per_tenant = {guid: streams.as_tenant(streams.generate(args.cli, name), guid) for name, guid in TENANTS.items()}
    stream = streams.interleave(per_tenant, [b"this line is not JSON"], args.work / "in", 6)
    print(f"{sum(map(len, stream.tenants.values()))} lines of {len(TENANTS)} tenants in {len(stream.files)} files")
    code = job.main([
        "--master", "local[2]", "--input", str(args.work / "in"), "--output", str(args.work / "out"),
        "--checkpoint", str(args.work / "checkpoint"), "--partitions", "2", "--trigger", "1",
        "--idle-after", "20", "--retire-after", "20", "--until-drained",
    ])  # fmt: skip
    if code:
        return code
    rows = output.read(args.work / "out")
    names = {guid: name for name, guid in TENANTS.items()}
    for tenant, mine in rows.groupby("tenant"):
        latest = mine[mine.kind == "finding"].drop_duplicates("uid", keep="last")
        print(f"\ntenant {tenant or '(none)'} ({names.get(tenant, 'lines without a tenant')}): "
              f"{len(latest)} findings, {(mine.kind == 'rejected').sum()} lines rejected")  # fmt: skip
        for _, row in latest.sort_values("time_ms").iterrows():
            print(f"  {row.severity:<13} {row.detector:<28} {json.loads(row.json)['finding_info']['title']}")
        for _, row in mine[mine.kind == "rejected"].iterrows():
            r = json.loads(row.json)
            print(f"  rejected {r['where']}: {r['kind']}: {r['reason']}")
    print(f"\nfindings (parquet, exactly once): {args.work / 'out'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
