"""What a file sink committed, read without Spark.

Spark's file sink writes each micro-batch's files, then records them in ``_spark_metadata/<batch>``
(every tenth log is compacted into ``<batch>.compact``). Only the files named there are output: a
batch killed half-way leaves files that no log names, and its re-run writes new ones. Reading the
directory through Spark (``spark.read.parquet(path)``) honours the log; so does :func:`read`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Union
from urllib.parse import unquote, urlparse

__all__ = ["committed_files", "read", "orphans"]


def committed_files(path: Union[str, Path]) -> list[Path]:
    """The files the sink at ``path`` committed, in no particular order."""
    log = Path(path) / "_spark_metadata"
    files: set[str] = set()
    for entry in sorted(log.iterdir()) if log.is_dir() else []:
        if entry.name.startswith("."):
            continue
        lines = entry.read_text(encoding="utf-8").splitlines()
        for line in lines[1:]:  # the first line is the log's version, "v1"
            if not line.strip():
                continue
            record = json.loads(line)
            if record.get("action", "add") == "add":
                files.add(record["path"])
            else:
                files.discard(record["path"])
    return [Path(unquote(urlparse(p).path)) if p.startswith("file:") else Path(p) for p in sorted(files)]


def orphans(path: Union[str, Path]) -> list[Path]:
    """Data files in ``path`` that no log names (left by a batch that died before it committed)."""
    committed = {p.resolve() for p in committed_files(path)}
    return [
        p
        for p in Path(path).iterdir()
        if p.is_file() and not p.name.startswith((".", "_")) and p.resolve() not in committed
    ]


def read(path: Union[str, Path]):
    """The committed rows as one pandas DataFrame (parquet or JSON lines, as the sink wrote)."""
    import pandas as pd

    frames = []
    for file in committed_files(path):
        if file.suffix == ".parquet" or file.name.endswith(".snappy.parquet"):
            frames.append(pd.read_parquet(file))
        else:
            frames.append(pd.read_json(file, lines=True, dtype=False))
    if not frames:
        return pd.DataFrame(columns=["kind", "tenant", "detector", "severity", "uid", "time_ms", "json"])
    return pd.concat(frames, ignore_index=True)
