"""snowyowl for Python: the snowyowl WebAssembly component, run by wasmtime inside this package.

Finds the Midnight Blizzard (APT29) intrusion chain in Entra ID and Microsoft 365 logs::

    from snowyowl import Engine

    with Engine() as engine:
        pushed = engine.push(open("signins.ndjson", "rb").read())
        findings = pushed.findings + engine.flush()
    for finding in findings:
        print(finding.severity, finding.detector, finding.ocsf["message"])

The component imports nothing (no files, clock or network); the host passes events, time, and
the seed of the engine's hash tables, drawn from ``os.urandom`` for every engine. It runs in
wasmtime compiled into the native module ``snowyowl._native`` (PyO3), which releases the GIL
while the component works. The component is compiled once per process and shared by every
engine; :func:`precompile` and :func:`load_precompiled` (or ``$SNOWYOWL_PRECOMPILED``) skip even
that, e.g. on Spark workers.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Optional, Union

from . import _native

__all__ = [
    "Engine",
    "Finding",
    "Rejected",
    "Pushed",
    "SnowyowlError",
    "component_path",
    "random_seed",
    "precompile",
    "load_precompiled",
    "COMPONENT_VAR",
    "PRECOMPILED_VAR",
]

COMPONENT_VAR = "SNOWYOWL_COMPONENT"
"""The variable naming a component (``.wasm``) to run instead of the one in this package."""

PRECOMPILED_VAR = "SNOWYOWL_PRECOMPILED"
"""The variable naming an artifact written from :func:`precompile` (``.cwasm``) to load instead of
compiling the component. It is machine code run as it is: only files this same build wrote."""

_MAX_SEED = 2**64 - 1

BytesLike = Union[bytes, bytearray, memoryview]


class SnowyowlError(Exception):
    """The engine refused a configuration or a snapshot; ``kind`` says which."""

    def __init__(self, kind: str, message: str):
        label = "invalid config" if kind == "invalid-config" else "invalid snapshot"
        super().__init__(f"{label}: {message}")
        self.kind = kind


@dataclass(frozen=True)
class Finding:
    """A finding: the fields hosts route on, and the OCSF Detection Finding (class 2004)."""

    detector: str
    severity: str
    uid: str
    time: int
    """Event time, ms since the Unix epoch."""
    json: str
    """The OCSF Detection Finding exactly as the CLI writes it."""
    tenant: Optional[str] = None
    """The tenant it belongs to (OCSF ``cloud.account.uid``): the tenant id its events carry, or
    ``None`` for events that name no tenant. Each tenant is watched apart."""

    @property
    def ocsf(self) -> dict[str, Any]:
        """The OCSF Detection Finding, parsed."""
        return json.loads(self.json)


@dataclass(frozen=True)
class Rejected:
    """A record that could not be read: its 1-based line in the batch, the kind, and why."""

    line: int
    kind: str
    reason: str


@dataclass
class Pushed:
    """What one ``push`` produced."""

    findings: list[Finding] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    accepted: int = 0
    ignored: int = 0


def component_path() -> Path:
    """The component: ``$SNOWYOWL_COMPONENT``, else the copy inside this package (``make python``)."""
    override = os.environ.get(COMPONENT_VAR)
    if override:
        return Path(override)
    return Path(__file__).with_name("snowyowl.wasm")


# The compiled component, shared by every engine of the process: the one load_precompiled()
# installed, else the one compiled from (or loaded for) its source, recompiled only when the
# source changes.
_lock = threading.Lock()
_installed: Optional[tuple[bytes, "_native.Runtime"]] = None
_compiled: Optional[tuple[tuple[str, str], "_native.Runtime"]] = None


def _compile(path: Path) -> "_native.Runtime":
    if not path.exists():
        raise FileNotFoundError(
            f"snowyowl component not found at {path}; run `make python` or set {COMPONENT_VAR}"
        )
    return _native.Runtime.compile(path.read_bytes())


def _runtime() -> "_native.Runtime":
    """The compiled component engines are made from (compiled on first use)."""
    global _compiled
    with _lock:
        if _installed is not None:
            return _installed[1]
        artifact = os.environ.get(PRECOMPILED_VAR)
        source = ("precompiled", artifact) if artifact else ("component", str(component_path()))
        if _compiled is None or _compiled[0] != source:
            runtime = _native.Runtime.load(Path(artifact).read_bytes()) if artifact else _compile(component_path())
            _compiled = (source, runtime)
        return _compiled[1]


def precompile() -> bytes:
    """The component engines run, compiled for this machine: wasmtime's serialized artifact
    (``.cwasm``). Compile once (e.g. on a Spark driver), then :func:`load_precompiled` it, or point
    ``$SNOWYOWL_PRECOMPILED`` at a file holding it, wherever this same build runs on the same kind
    of CPU: engines are then made without compiling."""
    return _runtime().serialize()


def load_precompiled(artifact: Union[BytesLike, str, os.PathLike]) -> None:
    """Makes every engine created after this run ``artifact``: bytes from :func:`precompile`, or
    the path of a file holding them. Loading the same bytes again does nothing.

    The artifact is machine code that runs as it is: pass only artifacts this same build of
    snowyowl wrote, from a place no one else can write to. wasmtime refuses one from another
    wasmtime version, configuration or CPU, and bytes that are no component artifact (ValueError).
    """
    global _installed
    data = Path(artifact).read_bytes() if isinstance(artifact, (str, os.PathLike)) else _bytes(artifact)
    with _lock:
        if _installed is not None and _installed[0] == data:
            return
        _installed = (data, _native.Runtime.load(data))


def random_seed() -> int:
    """A fresh hash seed: 64 bits from ``os.urandom``. Every engine gets one unless given a seed."""
    return int.from_bytes(os.urandom(8), "little")


def _seed(seed: Optional[int]) -> int:
    """The seed to pass: the one given (an int from 0 to 2**64 - 1), else a fresh one."""
    if seed is None:
        return random_seed()
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= _MAX_SEED:
        raise ValueError(f"seed must be an int from 0 to 2**64 - 1, not {seed!r}")
    return seed


def _config_text(config: Union[None, str, dict[str, Any]]) -> str:
    """Text as it is (the engine says what is wrong with it), anything else as JSON."""
    if config is None:
        return ""
    return config if isinstance(config, str) else json.dumps(config)


def _bytes(data: Union[BytesLike, str]) -> bytes:
    """``bytes`` as they are (the component reads their buffer), text as UTF-8, any other buffer
    (bytearray, memoryview, …) copied once: the engine works without the GIL, while Python code
    could change a mutable buffer."""
    if isinstance(data, bytes):
        return data
    if isinstance(data, str):
        return data.encode()
    return memoryview(data).tobytes()


def _findings(raw: list[tuple]) -> list[Finding]:
    return [Finding(*f) for f in raw]


class Engine:
    """A running engine: events in (NDJSON or JSON documents), OCSF findings out.

    ``config`` is the object (or JSON text) the CLI reads with ``--config``. Raises
    :class:`SnowyowlError` naming the field when invalid (a ``seed`` in it too: it is an argument).

    ``seed`` seeds the engine's hash tables, whose keys (IPs, user names) attackers choose: leave it
    out and each engine draws a fresh one (:func:`random_seed`); give one (0 to 2**64 - 1) only to
    reproduce a run. Findings do not depend on it.

    Each engine is one instance of the component, its linear memory capped at 4 GiB as in the CLI.
    Its methods release the GIL while the component works; calls from several threads on one
    engine take turns.
    """

    def __init__(
        self,
        config: Union[None, str, dict[str, Any]] = None,
        *,
        seed: Optional[int] = None,
        _snapshot: Optional[BytesLike] = None,
    ):
        text = _config_text(config)
        seed = _seed(seed)
        runtime = _runtime()
        try:
            if _snapshot is None:
                self._native = runtime.create(text, seed)
            else:
                self._native = runtime.restore(text, _bytes(_snapshot), seed)
        except _native.Refused as refused:
            raise SnowyowlError(*refused.args) from None

    @classmethod
    def restore(
        cls,
        snapshot: BytesLike,
        config: Union[None, str, dict[str, Any]] = None,
        *,
        seed: Optional[int] = None,
    ) -> "Engine":
        """An engine continuing from ``snapshot`` (from :meth:`snapshot`), with a fresh hash seed
        unless ``seed`` is given (a snapshot holds no seed: any seed continues it)."""
        return cls(config, seed=seed, _snapshot=snapshot)

    def push(self, events: Union[BytesLike, str]) -> Pushed:
        """Newline-delimited JSON or one JSON document. Push batches (megabytes), not single events."""
        findings, rejected, accepted, ignored = self._native.push(_bytes(events))
        return Pushed(
            findings=_findings(findings),
            rejected=[Rejected(*r) for r in rejected],
            accepted=accepted,
            ignored=ignored,
        )

    def advance(self, watermark: Union[int, float, datetime]) -> list[Finding]:
        """Moves every tenant's watermark (event time; ms or datetime) for an idle stream. One
        watermark for all suits one tenant or a replay; a live stream of many uses
        :meth:`advance_idle`."""
        ms = int(watermark.timestamp() * 1000) if isinstance(watermark, datetime) else int(watermark)
        return _findings(self._native.advance(ms))

    def advance_idle(self, quiet: Union[int, float, timedelta]) -> list[Finding]:
        """For a live stream gone quiet: every tenant that took no event since the previous call
        (the first counts from the engine's start) moves its own watermark on by ``quiet`` (ms,
        or a timedelta), closing the windows that ends; the others stay. Call it on a timer with
        the wall-clock time since the previous call (``time.monotonic()``), so a quiet tenant's
        findings come out without waiting for its next event. Raises ValueError for a negative
        ``quiet``."""
        ms = int(quiet.total_seconds() * 1000) if isinstance(quiet, timedelta) else int(quiet)
        if ms < 0:
            raise ValueError(f"quiet must be 0 or more, not {quiet!r}")
        return _findings(self._native.advance_idle(ms))

    def flush(self) -> list[Finding]:
        """End of input: closes every open window."""
        return _findings(self._native.flush())

    def stats(self) -> dict[str, Any]:
        """Counters and state sizes."""
        return json.loads(self._native.stats())

    def snapshot(self) -> bytes:
        """The engine's state, for :meth:`restore` after a restart."""
        try:
            return self._native.snapshot()
        except _native.Refused as refused:
            raise SnowyowlError(*refused.args) from None

    def close(self) -> None:
        """Frees the engine now; calling it afterwards raises ValueError."""
        self._native.close()

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
