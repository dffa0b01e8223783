"""snowyowl for Python: the snowyowl WebAssembly component, run by PyPI ``wasmtime``.

Finds the Midnight Blizzard (APT29) intrusion chain in Entra ID and Microsoft 365 logs::

    from snowyowl import Engine

    with Engine() as engine:
        pushed = engine.push(open("signins.ndjson", "rb").read())
        findings = pushed.findings + engine.flush()
    for finding in findings:
        print(finding.severity, finding.detector, finding.ocsf["message"])

The component imports nothing (no files, clock or network); the host passes events, time, and
the seed of the engine's hash tables, drawn from ``os.urandom`` for every engine.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Optional, Union

import wasmtime
import wasmtime.component as wc

__all__ = ["Engine", "Finding", "Rejected", "Pushed", "SnowyowlError", "component_path", "random_seed"]

_INTERFACE = "snowyowl:detect/engine@0.3.0"

_MAX_SEED = 2**64 - 1


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
    """The tenant it belongs to (OCSF ``cloud.account.uid``), or None for events that name none."""

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
    override = os.environ.get("SNOWYOWL_COMPONENT")
    if override:
        return Path(override)
    return Path(__file__).with_name("snowyowl.wasm")


class _Runtime:
    """The compiled component, shared by every engine of the process (compiling takes a second)."""

    _instance: Optional["_Runtime"] = None

    def __init__(self, path: Path):
        if not path.exists():
            raise FileNotFoundError(
                f"snowyowl component not found at {path}; run `make python` or set SNOWYOWL_COMPONENT"
            )
        self.engine = wasmtime.Engine()
        self.component = wc.Component.from_file(self.engine, str(path))
        self.path = path

    @classmethod
    def get(cls) -> "_Runtime":
        path = component_path()
        if cls._instance is None or cls._instance.path != path:
            cls._instance = _Runtime(path)
        return cls._instance


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


def _finding(raw: Any) -> Finding:
    return Finding(
        detector=raw.detector,
        severity=raw.severity,
        uid=raw.uid,
        time=getattr(raw, "time-ms"),
        json=raw.json,
        tenant=raw.tenant,
    )


class Engine:
    """A running engine: events in (NDJSON or JSON documents), OCSF findings out.

    ``config`` is the object (or JSON text) the CLI reads with ``--config``. Raises
    :class:`SnowyowlError` naming the field when invalid (a ``seed`` in it too: it is an argument).

    ``seed`` seeds the engine's hash tables, whose keys (IPs, user names) attackers choose: leave it
    out and each engine draws a fresh one (:func:`random_seed`); give one (0 to 2**64 - 1) only to
    reproduce a run. Findings do not depend on it.
    """

    def __init__(
        self,
        config: Union[None, str, dict[str, Any]] = None,
        *,
        seed: Optional[int] = None,
        _snapshot: Optional[bytes] = None,
    ):
        text = _config_text(config)
        seed = _seed(seed)
        runtime = _Runtime.get()
        self._store = wasmtime.Store(runtime.engine)
        instance = wc.Linker(runtime.engine).instantiate(self._store, runtime.component)
        interface = instance.get_export_index(self._store, _INTERFACE)

        def func(name: str) -> wc.Func:
            index = instance.get_export_index(self._store, name, interface)
            found = instance.get_func(self._store, index) if index is not None else None
            if found is None:
                raise RuntimeError(f"the component does not export {name}")
            return found

        self._push = func("[method]engine.push")
        self._advance = func("[method]engine.advance")
        self._flush = func("[method]engine.flush")
        self._stats = func("[method]engine.stats")
        self._snapshot = func("[method]engine.snapshot")
        if _snapshot is None:
            result = func("[static]engine.create")(self._store, text, seed)
        else:
            result = func("[static]engine.restore")(self._store, text, bytes(_snapshot), seed)
        if isinstance(result, wc.Variant):
            raise SnowyowlError(result.tag, result.payload)
        self._handle = result

    @classmethod
    def restore(
        cls,
        snapshot: bytes,
        config: Union[None, str, dict[str, Any]] = None,
        *,
        seed: Optional[int] = None,
    ) -> "Engine":
        """An engine continuing from ``snapshot`` (from :meth:`snapshot`), with a fresh hash seed
        unless ``seed`` is given (a snapshot holds no seed: any seed continues it)."""
        return cls(config, seed=seed, _snapshot=snapshot)

    def push(self, events: Union[bytes, bytearray, memoryview, str]) -> Pushed:
        """Newline-delimited JSON or one JSON document. Push batches (megabytes), not single events."""
        data = events.encode() if isinstance(events, str) else bytes(events)
        raw = self._push(self._store, self._handle, data)
        return Pushed(
            findings=[_finding(f) for f in raw.findings],
            rejected=[Rejected(r.line, r.kind, r.reason) for r in raw.rejected],
            accepted=raw.accepted,
            ignored=raw.ignored,
        )

    def advance(self, watermark: Union[int, float, datetime]) -> list[Finding]:
        """Moves the watermark (event time; ms or datetime) for an idle stream."""
        ms = int(watermark.timestamp() * 1000) if isinstance(watermark, datetime) else int(watermark)
        return [_finding(f) for f in self._advance(self._store, self._handle, ms)]

    def flush(self) -> list[Finding]:
        """End of input: closes every open window."""
        return [_finding(f) for f in self._flush(self._store, self._handle)]

    def stats(self) -> dict[str, Any]:
        """Counters and state sizes."""
        return json.loads(self._stats(self._store, self._handle))

    def snapshot(self) -> bytes:
        """The engine's state, for :meth:`restore` after a restart."""
        result = self._snapshot(self._store, self._handle)
        if isinstance(result, wc.Variant):
            raise SnowyowlError(result.tag, result.payload)
        return bytes(result)

    def close(self) -> None:
        """Frees the engine now."""
        if self._handle is not None:
            self._handle.drop(self._store)
            self._handle = None

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
