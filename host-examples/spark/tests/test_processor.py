"""The per-tenant logic without Spark: restore, push, snapshot, store; advance; retire; bad input.

Processing time is passed in (``now``), so these tests step it by hand.
"""

import json
from pathlib import Path

import pytest

import snowyowl
from snowyowl_spark import codec
from snowyowl_spark.processor import Settings, Stored, on_input, on_timer

DATA = Path(__file__).resolve().parents[3] / "tests/data"
MINUTE = 60_000
SETTINGS = Settings(idle_after_ms=5 * MINUTE, retire_after_ms=60 * MINUTE)


def lines_of(name):
    return [line for line in (DATA / name).read_bytes().split(b"\n") if line.strip()]


def wheres(lines, file="f"):
    return [f"{file}:{i + 1}" for i in range(len(lines))]


def findings(rows):
    return sorted(row[6] for row in rows if row[0] == "finding")


def scan_alone(lines):
    """What one engine gives on these lines, then the end of input (as ``snowyowl scan``)."""
    with snowyowl.Engine() as engine:
        return sorted(f.json for f in engine.push(b"\n".join(lines)).findings + engine.flush())


@pytest.mark.parametrize("codec_name", ["zstd", "zlib", "none"])
def test_batches_then_retirement_give_what_one_scan_gives(codec_name):
    settings = Settings(idle_after_ms=5 * MINUTE, retire_after_ms=60 * MINUTE, codec=codec_name)
    lines = lines_of("app-abuse.ndjson") + lines_of("demo-tenant.ndjson")[:400]
    rows, stored, now = [], None, 1_000_000
    for start in range(0, len(lines), 150):
        step = on_input("t", stored, lines[start : start + 150], wheres(lines)[start : start + 150], now, settings)
        rows += step.rows
        stored = step.stored
        assert step.timer_ms == now + settings.idle_after_ms
        assert codec.unpack(stored.snapshot).startswith(b"SNOWYOWL-SNAPSHOT ")
        now += 1000
    last_input = now - 1000
    retired = on_timer("t", stored, last_input + settings.retire_after_ms, settings)
    assert retired.stored is None and retired.timer_ms is None
    assert findings(rows + retired.rows) == scan_alone(lines)
    assert len(findings(rows + retired.rows)) >= 6


def test_a_quiet_tenant_advances_with_the_clock_and_its_windows_close():
    lines = lines_of("demo-tenant.ndjson")
    step = on_input("t", None, lines, wheres(lines), 0, SETTINGS)
    watermark = step.stored.watermark_ms
    assert watermark is not None
    # Input came since this timer was set: nothing to do but wait again.
    early = on_timer("t", step.stored, SETTINGS.idle_after_ms - 1, SETTINGS)
    assert early.rows == [] and early.stored == step.stored
    # Five quiet minutes: the watermark moves five minutes on.
    advanced = on_timer("t", step.stored, SETTINGS.idle_after_ms, SETTINGS)
    assert advanced.stored.watermark_ms == watermark + SETTINGS.idle_after_ms
    assert advanced.stored.moved_ms == SETTINGS.idle_after_ms
    assert advanced.stored.last_input_ms == 0
    assert advanced.timer_ms == 2 * SETTINGS.idle_after_ms
    # Then by what passed since it last moved, until retirement flushes the rest.
    later = on_timer("t", advanced.stored, 3 * SETTINGS.idle_after_ms, SETTINGS)
    assert later.stored.watermark_ms == watermark + 3 * SETTINGS.idle_after_ms
    retired = on_timer("t", later.stored, SETTINGS.retire_after_ms, SETTINGS)
    assert retired.stored is None
    assert findings(step.rows + advanced.rows + later.rows + retired.rows) == scan_alone(lines)


def test_the_next_timer_is_never_after_retirement():
    lines = lines_of("app-abuse.ndjson")
    settings = Settings(idle_after_ms=40 * MINUTE, retire_after_ms=60 * MINUTE)
    step = on_input("t", None, lines, wheres(lines), 0, settings)
    assert step.timer_ms == 40 * MINUTE
    advanced = on_timer("t", step.stored, 40 * MINUTE, settings)
    assert advanced.timer_ms == 60 * MINUTE


def test_rejected_lines_name_tenant_place_and_reason_and_the_rest_is_read():
    good = lines_of("app-abuse.ndjson")
    lines = [good[0], b'{"broken": ', good[1], b'"just a string"', b'{"ok": 1}\n{"broken', good[2]]
    step = on_input("t", None, lines, wheres(lines, "in.ndjson"), 0, SETTINGS)
    rejected = [json.loads(row[6]) for row in step.rows if row[0] == "rejected"]
    assert [(r["where"], r["kind"]) for r in rejected] == [
        ("in.ndjson:2", "malformed"),
        ("in.ndjson:4", "not-an-object"),
        ("in.ndjson:5", "unknown-shape"),
        ("in.ndjson:5 (line 2 of it)", "malformed"),
    ]
    assert all(r["tenant"] == "t" and r["reason"] for r in rejected)
    assert rejected[0]["excerpt"] == '{"broken": '
    assert [row[4] for row in step.rows if row[0] == "rejected"][0] == "in.ndjson:2"
    with snowyowl.Engine() as engine:
        assert engine.push(b"\n".join(good[:3])).accepted == 3
    assert step.stored is not None


def test_a_refused_snapshot_is_reported_and_the_tenant_starts_afresh():
    lines = lines_of("app-abuse.ndjson")
    damaged = Stored(codec.pack(b"SNOWYOWL-SNAPSHOT 999 0\n{}", "zlib"), None, 0, 0)
    step = on_input("t", damaged, lines, wheres(lines), 0, SETTINGS)
    errors = [json.loads(row[6])["reason"] for row in step.rows if row[0] == "error"]
    assert len(errors) == 1 and "starts afresh" in errors[0] and "snapshot" in errors[0]
    retired = on_timer("t", step.stored, SETTINGS.retire_after_ms, SETTINGS)
    assert findings(step.rows + retired.rows) == scan_alone(lines)
    garbage = Stored(b"z not zlib at all", None, 0, 0)
    assert any(row[0] == "error" for row in on_input("t", garbage, lines, wheres(lines), 0, SETTINGS).rows)


def test_profile_rows_say_where_the_time_went():
    lines = lines_of("app-abuse.ndjson")
    settings = Settings(profile=True)
    step = on_input("t", None, lines, wheres(lines), 0, settings)
    (profile,) = [json.loads(row[6]) for row in step.rows if row[0] == "profile"]
    assert profile["step"] == "input" and profile["lines"] == len(lines)
    assert {"restore_ms", "push_ms", "snapshot_ms", "pack_ms", "snapshot_bytes", "stored_bytes"} <= set(profile)
    assert profile["stored_bytes"] < profile["snapshot_bytes"]


def test_settings_are_checked():
    with pytest.raises(ValueError):
        Settings(idle_after_ms=0)
    with pytest.raises(ValueError):
        Settings(codec="lz4")
