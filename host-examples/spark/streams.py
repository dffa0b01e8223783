"""Test and benchmark streams: generated scenarios, one tenant GUID each, interleaved by time into files.

Each scenario of ``snowyowl generate`` is one tenant (GUID ``SCENARIO_TENANT``); giving each a
GUID of its own and merging them by event time makes a stream of several tenants whose lines
arrive mixed, as on a provider's Event Hub. The ground truth of which line is whose is kept here,
independently of the job's router: a line is tenant G's when G's GUID is in it, else the default
tenant's (the scenarios' few records without a tenant field, and hostile lines).
"""

from __future__ import annotations

import heapq
import json
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

SCENARIO_TENANT = b"6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"

_TIME = re.compile(rb'"(?:time|createdDateTime|CreationTime|TimeGenerated|activityDateTime)"\s*:\s*"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)')


def generate(cli: Path, scenario: str) -> list[bytes]:
    """The scenario's lines, as ``snowyowl generate`` writes them."""
    out = subprocess.run([str(cli), "generate", "--scenario", scenario], check=True, capture_output=True).stdout
    return [line for line in out.split(b"\n") if line.strip()]


def as_tenant(lines: Iterable[bytes], guid: str) -> list[bytes]:
    """The scenario's lines with its tenant GUID replaced by ``guid``."""
    return [line.replace(SCENARIO_TENANT, guid.encode()) for line in lines]


def bad_line(guid: str, what: str) -> bytes:
    """A sign-in of tenant ``guid`` that the engine must reject (``what`` makes it unique)."""
    record = {
        "category": "SignInLogs",
        "operationName": "Sign-in activity",
        "tenantId": guid,
        "time": f"not a time ({what})",
        "properties": {"userPrincipalName": f"{what}@contoso.com", "status": {"errorCode": 0}},
    }
    return json.dumps(record).encode()


@dataclass
class Stream:
    """The files written and, per tenant, its lines in the order the stream carries them."""

    files: list[Path] = field(default_factory=list)
    tenants: dict[str, list[bytes]] = field(default_factory=dict)


def interleave(per_tenant: dict[str, list[bytes]], extra: list[bytes], directory: Path, files: int) -> Stream:
    """Merges the tenants' lines by event time (each tenant's own order kept), spreads ``extra``
    lines (hostile ones) evenly through the stream, and writes ``files`` files of about equal
    size to ``directory`` with increasing modification times (the order Spark reads them in)."""
    def keyed(tenant: str, lines: list[bytes]):
        latest = b""
        for i, line in enumerate(lines):
            match = _TIME.search(line)
            latest = max(latest, match.group(1)) if match else latest
            yield (latest, tenant, i), line

    merged = [line for _, line in heapq.merge(*(keyed(t, ls) for t, ls in per_tenant.items()), key=lambda x: x[0])]
    if extra:
        gap = max(1, len(merged) // (len(extra) + 1))
        for n, line in enumerate(extra):
            merged.insert(min(len(merged), (n + 1) * gap + n), line)
    stream = Stream()
    directory.mkdir(parents=True, exist_ok=True)
    size = -(-len(merged) // files)
    base = 1_700_000_000
    for n in range(files):
        chunk = merged[n * size : (n + 1) * size]
        if not chunk:
            break
        path = directory / f"part-{n:03}.ndjson"
        path.write_bytes(b"\n".join(chunk) + b"\n")
        os.utime(path, (base + n * 10, base + n * 10))
        stream.files.append(path)
    for line in merged:
        owner = next((t for t in per_tenant if t and t.encode() in line), "")
        stream.tenants.setdefault(owner, []).append(line)
    return stream


@dataclass
class Scan:
    """What ``snowyowl scan`` gives on one tenant's lines alone."""

    findings: list[dict]
    rejected: int


def scan(cli: Path, lines: list[bytes], workdir: Path, name: str) -> Scan:
    path = workdir / f"{name or 'default'}.ndjson"
    path.write_bytes(b"\n".join(lines) + b"\n")
    done = subprocess.run([str(cli), "scan", "--quiet", "--stats", str(path)], check=True, capture_output=True)
    stats = json.loads(done.stderr.decode().strip().splitlines()[-1])
    findings = [json.loads(line) for line in done.stdout.decode().splitlines() if line.strip()]
    return Scan(findings, sum(stats.get("rejected", {}).values()))
