"""The Python package against the real component (the one `make python` put in it, from build/)."""

import json
import subprocess
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import snowyowl
from snowyowl import Engine, SnowyowlError

ROOT = Path(__file__).resolve().parents[3]
SCENARIO = ROOT / "tests/data/midnight-blizzard.ndjson"
HOSTILE = ROOT / "tests/data/hostile.ndjson"
CLI = ROOT / "target/release/snowyowl"


def jsons(findings):
    return sorted(f.json for f in findings)


def run(engine, data: bytes, lines_per_batch: int):
    lines = data.split(b"\n")
    findings = []
    for i in range(0, len(lines), lines_per_batch):
        pushed = engine.push(b"\n".join(lines[i : i + lines_per_batch]))
        assert pushed.rejected == []
        findings += pushed.findings
    return findings + engine.flush()


@pytest.mark.skipif(not CLI.exists(), reason="build the CLI first (make build)")
def test_finds_exactly_what_the_cli_finds():
    expected = sorted(
        subprocess.run([CLI, "scan", "--quiet", SCENARIO], check=True, capture_output=True)
        .stdout.decode()
        .splitlines()
    )
    with Engine() as engine:
        pushed = engine.push(SCENARIO.read_bytes())
        assert pushed.accepted == len(SCENARIO.read_bytes().splitlines())
        findings = pushed.findings + engine.flush()
    assert jsons(findings) == expected
    detectors = {f.detector for f in findings}
    assert {"distributed-password-spray", "spray-then-success", "oauth-high-privilege-grant", "attack-chain"} <= detectors
    chain = [f for f in findings if f.detector == "attack-chain"][-1]
    assert chain.severity == "critical"
    assert chain.ocsf["class_uid"] == 2004
    assert chain.tenant == "6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
    assert chain.ocsf["cloud"]["account"]["uid"] == chain.tenant


def test_batching_does_not_change_the_findings():
    data = SCENARIO.read_bytes()
    whole = run(Engine(seed=1), data, 10**9)
    small = run(Engine({}, seed=2**64 - 1), data, 97)
    assert len(whole) > 10
    assert jsons(small) == jsons(whole)


def test_a_snapshot_carries_open_windows_across_a_restart():
    lines = SCENARIO.read_bytes().split(b"\n")
    half = len(lines) // 2
    first = Engine()
    before = first.push(b"\n".join(lines[:half])).findings
    snapshot = first.snapshot()
    first.close()
    second = Engine.restore(snapshot)
    after = second.push(b"\n".join(lines[half:])).findings + second.flush()
    assert jsons(before + after) == jsons(run(Engine(), SCENARIO.read_bytes(), 10**9))


def test_bad_lines_are_reported_and_the_rest_is_read():
    lines = SCENARIO.read_text().split("\n")[:20]
    lines.insert(3, '{"broken": ')
    lines.insert(7, '"just a string"')
    pushed = Engine().push("\n".join(lines))
    assert pushed.accepted == 20
    assert [(r.line, r.kind) for r in pushed.rejected] == [(4, "malformed"), (8, "not-an-object")]


def test_an_invalid_config_or_snapshot_is_refused_with_the_reason():
    with pytest.raises(SnowyowlError, match="min_users") as error:
        Engine({"detectors": {"password-spray": {"min_users": "many"}}})
    assert error.value.kind == "invalid-config"
    with pytest.raises(SnowyowlError):
        Engine("{not json")
    with pytest.raises(SnowyowlError) as error:
        Engine.restore(b"\x01\x02\x03")
    assert error.value.kind == "invalid-snapshot"


def test_every_engine_gets_a_fresh_64_bit_seed_passed_to_the_component(monkeypatch):
    # What the native module's create and restore are called with: the seed last.
    passed = []
    real = snowyowl._runtime()

    class Recording:
        def create(self, config, seed):
            passed.append(seed)
            return real.create(config, seed)

        def restore(self, config, snapshot, seed):
            passed.append(seed)
            return real.restore(config, snapshot, seed)

    monkeypatch.setattr(snowyowl, "_runtime", Recording)
    first = Engine()
    Engine({})
    Engine.restore(first.snapshot())
    Engine(seed=7)
    Engine.restore(first.snapshot(), "", seed=2**64 - 1)
    drawn = passed[:3]
    assert all(isinstance(seed, int) and 0 <= seed < 2**64 for seed in drawn), drawn
    assert len(set(drawn)) == 3, drawn
    assert passed[3:] == [7, 2**64 - 1]
    assert any(snowyowl.random_seed() >= 2**53 for _ in range(64)), "all 64 bits are drawn"


def test_a_seed_in_the_config_is_refused_and_one_out_of_range_raises():
    with pytest.raises(SnowyowlError, match=r"^invalid config: seed: .*create/restore") as error:
        Engine({"seed": 1})
    assert error.value.kind == "invalid-config"
    for seed in (-1, 2**64, 1.5, "7", True):
        with pytest.raises(ValueError, match="seed must be"):
            Engine(seed=seed)


def test_advance_closes_the_windows_of_an_idle_stream():
    engine = Engine()
    batch = "".join(
        json.dumps(
            {
                "id": f"s{n}",
                "createdDateTime": f"2024-01-15T10:0{n}:00Z",
                "userPrincipalName": f"{user}@contoso.com",
                "ipAddress": "203.0.113.9",
                "status": {"errorCode": 50126},
            }
        )
        + "\n"
        for n, user in enumerate(["ann", "bob", "cat", "dan", "eve", "fay"])
    )
    found = engine.push(batch).findings
    found += engine.advance(datetime(2024, 1, 15, 12, tzinfo=timezone.utc))
    assert any(f.detector == "password-spray" for f in found)
    assert engine.stats()["records"] == 6


def test_advance_idle_moves_only_the_quiet_tenant():
    def sprayed(tenant):
        return "".join(
            json.dumps(
                {
                    "id": f"{tenant}-{n}",
                    "createdDateTime": f"2024-01-15T10:0{n}:00Z",
                    "userPrincipalName": f"user{n}@contoso.com",
                    "ipAddress": "203.0.113.9",
                    "tenantId": tenant,
                    "status": {"errorCode": 50126},
                }
            )
            + "\n"
            for n in range(8)
        )

    engine = Engine()
    # Both sprays are held back by the allowed lateness (5 min): nothing found yet.
    assert engine.push(sprayed("quiet") + sprayed("busy")).findings == []
    # Both took events since the engine started: neither moves.
    assert engine.advance_idle(timedelta(minutes=30)) == []
    # The busy tenant sends on; a whole period later only the quiet one has moved on, by the
    # time passed, and its spray comes out.
    benign = {
        "id": "busy-ann",
        "createdDateTime": "2024-01-15T10:06:00Z",
        "userPrincipalName": "ann@contoso.com",
        "ipAddress": "198.51.100.7",
        "tenantId": "busy",
        "status": {"errorCode": 0},
    }
    assert engine.push(json.dumps(benign)).findings == []
    found = engine.advance_idle(30 * 60_000)
    assert found and {(f.detector, f.tenant) for f in found} == {("password-spray", "quiet")}
    by_tenant = engine.stats()["tenants"]["by_tenant"]
    start = int(datetime(2024, 1, 15, 10, 2, tzinfo=timezone.utc).timestamp() * 1000)
    assert by_tenant["quiet"]["watermark"] == start + 30 * 60_000
    assert by_tenant["busy"]["watermark"] == start
    with pytest.raises(ValueError, match="quiet must be 0 or more"):
        engine.advance_idle(-1)
