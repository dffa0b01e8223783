"""The one seam between the job and the ``snowyowl`` Python package: compile once, load everywhere.

The driver compiles the component once (:func:`precompile`, ``snowyowl.precompile()``) and ships
the compiled bytes to the executors; each Python worker process loads them once (:func:`load`,
``snowyowl.load_precompiled``, milliseconds) and keeps them for every batch and every tenant it
handles. Nothing compiles per batch. Everything else the job asks of the package is
``snowyowl.Engine`` (create, ``restore``, ``push``, ``advance``, ``flush``, ``stats``,
``snapshot``, ``close``), here too.

Compiled code is tied to the wasmtime build and the CPU: a worker that cannot load the driver's
bytes (another CPU in a mixed cluster) compiles the component itself, once, and says so on stderr.
"""

from __future__ import annotations

import hashlib
import os
import sys
from types import SimpleNamespace
from typing import Any, Optional

import snowyowl

__all__ = ["precompile", "load", "load_file", "new_engine", "restore_engine", "host_name", "SnowyowlError"]

SnowyowlError = snowyowl.SnowyowlError
"""What the engine raises for a configuration or snapshot it refuses."""

_loaded: Optional[str] = None
"""Digest of the compiled bytes this process has loaded (once per process)."""

loads = {"loaded": 0, "refused": 0}
"""How often this process loaded compiled bytes, and how often it could not (and so compiled the
component itself): ``profile`` rows carry it, and the tests check that no worker compiles."""


def host_name() -> str:
    """The Python package and its version, for reports."""
    from importlib import metadata

    try:
        return f"snowyowl {metadata.version('snowyowl')} (native module)"
    except metadata.PackageNotFoundError:
        return "snowyowl (native module, not installed as a package)"


def precompile() -> bytes:
    """The component compiled for this machine, as bytes another process loads without compiling."""
    return snowyowl.precompile()


def load(compiled: Optional[bytes]) -> None:
    """Makes ``compiled`` (from :func:`precompile`) this process's component; a no-op after the
    first call with the same bytes. ``None`` (or bytes this machine cannot load) leaves the host to
    compile the component itself, once per process."""
    global _loaded
    if compiled is None:
        return
    digest = hashlib.sha256(compiled).hexdigest()
    if _loaded == digest:
        return
    try:
        snowyowl.load_precompiled(compiled)
        loads["loaded"] += 1
    except Exception as error:  # another CPU or wasmtime build: compile here instead
        loads["refused"] += 1
        print(f"snowyowl-spark: compiled component not loadable here ({error}); compiling it", file=sys.stderr)
    _loaded = digest


def load_file(name: Optional[str]) -> None:
    """:func:`load` with the bytes of ``name``, a file shipped with ``SparkContext.addFile``; the
    file is read only the first time in a process."""
    if name is None or _loaded_file == name:
        return
    from pyspark import SparkFiles

    with open(SparkFiles.get(name), "rb") as file:
        load(file.read())
    globals()["_loaded_file"] = name


_loaded_file: Optional[str] = None


def new_engine(config: str) -> Any:
    """A fresh engine (a fresh hash seed, as every host draws)."""
    if _null():
        return _NullEngine()
    return snowyowl.Engine(config)


def restore_engine(snapshot: bytes, config: str) -> Any:
    """An engine continuing from ``snapshot`` (raises ``snowyowl.SnowyowlError`` when refused)."""
    if _null():
        return _NullEngine()
    return snowyowl.Engine.restore(snapshot, config)


def _null() -> bool:
    return os.environ.get("SNOWYOWL_SPARK_ENGINE") == "null"


class _NullEngine:
    """No detection at all (``SNOWYOWL_SPARK_ENGINE=null``): the benchmark's measure of what the
    pipeline around the engine costs (Spark, routing, Arrow, state, sink). Never for real use."""

    def push(self, events: bytes) -> Any:
        return SimpleNamespace(findings=[], rejected=[], accepted=events.count(b"\n") + 1, ignored=0)

    def advance(self, watermark: int) -> list:
        return []

    def flush(self) -> list:
        return []

    def stats(self) -> dict:
        return {"watermark": None}

    def snapshot(self) -> bytes:
        return b"SNOWYOWL-SNAPSHOT null\n{}"

    def close(self) -> None:
        pass
