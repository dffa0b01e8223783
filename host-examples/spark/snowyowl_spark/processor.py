"""One engine per tenant, kept between micro-batches as a compressed snapshot in Spark state.

What: for each tenant and micro-batch, restore the tenant's engine from its snapshot, push the
tenant's lines (in source order), snapshot it and store it back; findings, rejected lines and
errors come out as rows. Processing-time timers advance quiet tenants and retire silent ones.

Logic (the functions :func:`on_input` and :func:`on_timer` decide; :class:`TenantProcessor`
only moves state and timers between them and Spark, so the logic is tested without Spark):

- Event time is the engine's own, per tenant: its watermark follows the tenant's events. A tenant
  with no input for ``idle_after`` of processing time has its watermark moved on by the processing
  time that passed since it last moved (``engine.advance``): event time is taken to pass as the
  clock does while a live tenant is quiet, so its windows close and their findings come out.
- A tenant with no input for ``retire_after`` is flushed (every open window closes, as at the end
  of a ``snowyowl scan``) and its state removed; if it comes back, it starts afresh.
- A line the engine cannot read comes out as a ``rejected`` row naming the tenant, where the line
  came from, the kind and the reason; the tenant's other lines are processed as usual.
- A stored snapshot the engine refuses (another snapshot format after an upgrade) comes out as an
  ``error`` row and the tenant starts afresh: one tenant's state never stops the stream.

Output rows (:data:`OUTPUT_SCHEMA`): ``kind`` (``finding``, ``rejected``, ``error``, ``profile``),
``tenant``, ``detector``, ``severity``, ``uid``, ``time_ms``, ``json``.
"""

from __future__ import annotations

import bisect
import json
import os
import time
from dataclasses import dataclass, field
from typing import Any, Iterator, Optional, Sequence

from . import codec, runtime

__all__ = [
    "Settings",
    "Stored",
    "Step",
    "on_input",
    "on_timer",
    "OUTPUT_COLUMNS",
    "OUTPUT_DDL",
    "STATE_DDL",
    "TenantProcessor",
]

OUTPUT_COLUMNS = ("kind", "tenant", "detector", "severity", "uid", "time_ms", "json")
OUTPUT_DDL = (
    "kind string, tenant string, detector string, severity string, uid string, time_ms long, json string"
)
"""The job's output rows. For a ``rejected`` row ``uid`` is where the line came from and ``json``
holds ``where``, ``kind``, ``reason`` and ``excerpt``; for ``error`` and ``profile`` rows ``json``
says what happened."""

STATE_DDL = "snapshot binary, watermark_ms long, last_input_ms long, moved_ms long"
"""The value state of one tenant (see :class:`Stored`)."""

EXCERPT_BYTES = 200
"""How much of a rejected line its row repeats."""


@dataclass(frozen=True)
class Settings:
    """How the job runs every tenant's engine."""

    config: str = ""
    """The engine configuration (JSON text, as ``snowyowl scan --config`` reads; empty: defaults)."""
    idle_after_ms: int = 5 * 60_000
    """Processing time without input after which a tenant's watermark is moved on (and again
    every time as long)."""
    retire_after_ms: int = 14 * 86_400_000
    """Processing time without input after which a tenant is flushed and its state removed."""
    codec: str = field(default_factory=codec.default_codec)
    """How snapshots are compressed in the state store (``zstd``, ``zlib``, ``none``)."""
    profile: bool = False
    """Emit a ``profile`` row per tenant step with the time spent restoring, pushing, snapshotting."""

    def __post_init__(self) -> None:
        if self.idle_after_ms <= 0 or self.retire_after_ms <= 0:
            raise ValueError("idle_after_ms and retire_after_ms must be positive")
        if self.codec not in codec.CODECS:
            raise ValueError(f"unknown codec {self.codec!r}: one of {', '.join(codec.CODECS)}")


@dataclass(frozen=True)
class Stored:
    """What a tenant keeps between micro-batches."""

    snapshot: bytes
    """The engine's snapshot, packed by :mod:`codec`."""
    watermark_ms: Optional[int]
    """The engine's watermark after the last step (``None`` before its first event)."""
    last_input_ms: int
    """Processing time of the tenant's last input."""
    moved_ms: int
    """Processing time its watermark last moved (its last input or advance)."""


@dataclass
class Step:
    """What one call decided: rows out, the state to keep (``None``: remove it), the next timer."""

    rows: list = field(default_factory=list)
    stored: Optional[Stored] = None
    timer_ms: Optional[int] = None


def on_input(
    tenant: str,
    stored: Optional[Stored],
    lines: Sequence[bytes],
    wheres: Sequence[str],
    now_ms: int,
    settings: Settings,
) -> Step:
    """A micro-batch of ``tenant``'s lines (in source order; ``wheres[i]`` says where line ``i``
    came from), at processing time ``now_ms``."""
    step = Step()
    clock = _Clock()
    engine = _open(tenant, stored, settings, step)
    clock.lap("restore_ms")
    data = b"\n".join(lines)
    pushed = engine.push(data)
    clock.lap("push_ms")
    step.rows += [_finding_row(tenant, f) for f in pushed.findings]
    if pushed.rejected:
        starts = _line_starts(lines)
        step.rows += [_rejected_row(tenant, r, starts, lines, wheres) for r in pushed.rejected]
    watermark = engine.stats().get("watermark")
    step.stored = _store(engine, watermark, now_ms, now_ms, settings, clock)
    engine.close()
    step.timer_ms = _next_timer(step.stored, now_ms, settings)
    if settings.profile:
        step.rows.append(_profile_row(tenant, "input", now_ms, clock, len(lines), len(data), step.stored))
    return step


def on_timer(tenant: str, stored: Optional[Stored], now_ms: int, settings: Settings) -> Step:
    """A timer of ``tenant`` fired at processing time ``now_ms``: advance it, or retire it."""
    step = Step()
    if stored is None:
        return step
    quiet = now_ms - stored.last_input_ms
    if quiet < settings.idle_after_ms:
        # Input came since this timer was set (its replacement is already registered).
        step.stored, step.timer_ms = stored, _next_timer(stored, now_ms, settings)
        return step
    clock = _Clock()
    engine = _open(tenant, stored, settings, step)
    clock.lap("restore_ms")
    if quiet >= settings.retire_after_ms:
        step.rows += [_finding_row(tenant, f) for f in engine.flush()]
        clock.lap("push_ms")
        engine.close()
        if settings.profile:
            step.rows.append(_profile_row(tenant, "retire", now_ms, clock, 0, 0, None))
        return step  # stored None: the state is removed, no timer
    watermark, moved = stored.watermark_ms, stored.moved_ms
    if watermark is not None:
        target = watermark + max(0, now_ms - stored.moved_ms)
        step.rows += [_finding_row(tenant, f) for f in engine.advance(target)]
        watermark, moved = engine.stats().get("watermark", target), now_ms
    clock.lap("push_ms")
    step.stored = _store(engine, watermark, stored.last_input_ms, moved, settings, clock)
    engine.close()
    step.timer_ms = _next_timer(step.stored, now_ms, settings)
    if settings.profile:
        step.rows.append(_profile_row(tenant, "advance", now_ms, clock, 0, 0, step.stored))
    return step


def _open(tenant: str, stored: Optional[Stored], settings: Settings, step: Step) -> Any:
    """The tenant's engine: restored from ``stored``, or fresh (and an ``error`` row when the
    stored snapshot is refused)."""
    if stored is None:
        return runtime.new_engine(settings.config)
    try:
        return runtime.restore_engine(codec.unpack(stored.snapshot), settings.config)
    except (runtime.SnowyowlError, ValueError) as error:  # refused by the engine, or damaged
        step.rows.append(
            _row("error", tenant, json_text={"reason": f"stored state not restored, tenant starts afresh: {error}"})
        )
        return runtime.new_engine(settings.config)


def _store(engine: Any, watermark: Optional[int], last_input: int, moved: int, settings: Settings, clock: "_Clock") -> Stored:
    snapshot = engine.snapshot()
    clock.lap("snapshot_ms")
    packed = codec.pack(snapshot, settings.codec)
    clock.lap("pack_ms")
    clock.sizes = (len(snapshot), len(packed))
    return Stored(packed, watermark, last_input, moved)


def _next_timer(stored: Stored, now_ms: int, settings: Settings) -> int:
    """The next idle check: ``idle_after`` from now, or the retirement if that comes first."""
    retire = stored.last_input_ms + settings.retire_after_ms
    return max(now_ms + 1, min(now_ms + settings.idle_after_ms, retire))


def _line_starts(lines: Sequence[bytes]) -> list[int]:
    """The 1-based line of the pushed batch where each input line starts (a line may hold newlines)."""
    starts, line = [], 1
    for text in lines:
        starts.append(line)
        line += text.count(b"\n") + 1
    return starts


def _rejected_row(tenant: str, rejected: Any, starts: list[int], lines: Sequence[bytes], wheres: Sequence[str]) -> tuple:
    index = max(0, bisect.bisect_right(starts, rejected.line) - 1)
    where = wheres[index] if index < len(wheres) else f"line {rejected.line} of the batch"
    inner = rejected.line - starts[index] if index < len(starts) else 0
    if inner:
        where = f"{where} (line {inner + 1} of it)"
    excerpt = lines[index][:EXCERPT_BYTES].decode("utf-8", "replace") if index < len(lines) else ""
    body = {"tenant": tenant, "where": where, "kind": rejected.kind, "reason": rejected.reason, "excerpt": excerpt}
    return ("rejected", tenant, None, None, where, None, json.dumps(body, ensure_ascii=False))


def _finding_row(tenant: str, finding: Any) -> tuple:
    # Once the core names each finding's tenant (WIT finding.tenant), that name wins.
    named = getattr(finding, "tenant", None) or tenant
    return ("finding", named, finding.detector, finding.severity, finding.uid, finding.time, finding.json)


def _row(kind: str, tenant: str, json_text: dict) -> tuple:
    return (kind, tenant, None, None, None, None, json.dumps(json_text))


def _profile_row(tenant: str, what: str, now_ms: int, clock: "_Clock", lines: int, size: int, stored: Optional[Stored]) -> tuple:
    body = dict(clock.laps, step=what, at_ms=now_ms, lines=lines, bytes=size, pid=os.getpid(), component=dict(runtime.loads))
    if stored is not None:
        body.update(snapshot_bytes=clock.sizes[0], stored_bytes=clock.sizes[1])
    return _row("profile", tenant, body)


class _Clock:
    """Wall time per phase, for ``profile`` rows."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.laps: dict[str, float] = {}
        self.sizes = (0, 0)

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round((now - self.start) * 1000, 3)
        self.start = now


# --- Spark ---------------------------------------------------------------------------------------

try:
    from pyspark.sql.streaming import StatefulProcessor as _Base
except ImportError:  # pragma: no cover - the logic above needs no Spark
    _Base = object


class TenantProcessor(_Base):
    """The ``transformWithStateInPandas`` processor: Spark's state and timers around
    :func:`on_input` and :func:`on_timer`. ``compiled`` names the compiled component shipped with
    ``SparkContext.addFile`` (:func:`job.ship_compiled`), loaded once per Python worker."""

    def __init__(self, settings: Settings, compiled: Any = None):
        self.settings = settings
        self.compiled = compiled

    def init(self, handle: Any) -> None:
        self.handle = handle
        self.state = handle.getValueState("engine", STATE_DDL)
        # The component is loaded on first use, not here: Spark also calls init() in a worker on
        # the driver, only to learn the state's schema.

    def handleInputRows(self, key: Any, rows: Iterator[Any], timerValues: Any) -> Iterator[Any]:
        import pandas as pd

        runtime.load_file(self.compiled)
        tenant = key[0]
        frames = list(rows)
        frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
        frame = frame.sort_values(["order_time", "order_source", "order_position"], kind="stable")
        now = timerValues.getCurrentProcessingTimeInMs()
        stored = self._stored()
        step = on_input(tenant, stored, list(frame["line"]), list(frame["where"]), now, self.settings)
        for timer in list(self.handle.listTimers()):
            self.handle.deleteTimer(timer)
        yield from self._apply(step, stored)

    def handleExpiredTimer(self, key: Any, timerValues: Any, expiredTimerInfo: Any) -> Iterator[Any]:
        runtime.load_file(self.compiled)
        now = timerValues.getCurrentProcessingTimeInMs()
        stored = self._stored()
        yield from self._apply(on_timer(key[0], stored, now, self.settings), stored)

    def close(self) -> None:
        pass

    def _stored(self) -> Optional[Stored]:
        if not self.state.exists():
            return None
        snapshot, watermark, last_input, moved = self.state.get()
        return Stored(bytes(snapshot), watermark, last_input, moved)

    def _apply(self, step: Step, before: Optional[Stored]) -> Iterator[Any]:
        import pandas as pd

        if step.stored is None:
            self.state.clear()
        elif step.stored is not before:  # unchanged state is not written again
            s = step.stored
            self.state.update((s.snapshot, s.watermark_ms, s.last_input_ms, s.moved_ms))
        if step.timer_ms is not None:
            self.handle.registerTimer(step.timer_ms)
        if step.rows:
            yield pd.DataFrame(step.rows, columns=list(OUTPUT_COLUMNS)).astype({"time_ms": "Int64"})
