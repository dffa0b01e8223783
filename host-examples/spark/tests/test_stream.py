"""The job in Spark (local[2]) on a stream of several tenants: per tenant, what `snowyowl scan`
gives on that tenant alone; killed mid-stream and restarted, nothing lost and nothing twice.

What is compared, and why: per tenant, the findings as the multiset of their whole OCSF JSON (it
holds uid, detector, severity and time, and everything else a finding says: updates of one
finding share its uid, so uids alone would not see one missing); rejected lines by count per
tenant against `snowyowl scan --stats`. Between the uninterrupted and the killed run, every
output row but the timing rows (`profile`): kind, tenant, detector, severity, uid, time and JSON.

Timers are processing time, so the tests give tenants `IDLE` seconds of quiet before they retire
(flush: the end of input, as `scan` ends): longer than any gap of a tenant's lines mid-stream,
restart included, and short enough to keep the run to minutes.
"""

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

import streams
from snowyowl_spark import output

ROOT = Path(__file__).resolve().parents[3]
HERE = Path(__file__).resolve().parents[1]
CLI = Path(os.environ.get("SNOWYOWL_CLI", ROOT / "target/release/snowyowl"))
IDLE = os.environ.get("SNOWYOWL_SPARK_TEST_IDLE", "40")
FILES = 6
TENANTS = {
    "demo": "0a1b2c3d-0000-4000-8000-00000000000a",
    "midnight-blizzard": "0b1b2c3d-0000-4000-8000-00000000000b",
    "app-abuse": "0c1b2c3d-0000-4000-8000-00000000000c",
}
TWIN = "0d1b2c3d-0000-4000-8000-00000000000d"  # app-abuse again: same finding uids, another tenant
TIMEOUT = 900


@pytest.fixture(scope="module")
def stream(tmp_path_factory):
    assert CLI.exists(), f"{CLI} is missing: build the CLI (make build) or set SNOWYOWL_CLI"
    per_tenant = {guid: streams.as_tenant(streams.generate(CLI, name), guid) for name, guid in TENANTS.items()}
    per_tenant[TWIN] = streams.as_tenant(streams.generate(CLI, "app-abuse"), TWIN)
    for guid in per_tenant:
        per_tenant[guid].insert(len(per_tenant[guid]) // 2, streams.bad_line(guid, f"bad-{guid[:4]}"))
    hostile = [line for line in (ROOT / "tests/data/hostile.ndjson").read_bytes().split(b"\n") if line.strip()]
    return streams.interleave(per_tenant, hostile, tmp_path_factory.mktemp("input"), FILES)


def job(stream, work: Path, name: str, idle=IDLE, retire=IDLE) -> subprocess.Popen:
    """Starts the job in its own process group (so that a kill takes the JVM and workers too)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), env.get("PYTHONPATH")]))
    env["SPARK_LOCAL_DIRS"] = str(work / "spark-local")
    env["TMPDIR"] = str(work)  # what a killed driver leaves stays in the test's folder
    command = [
        sys.executable, "-m", "snowyowl_spark.job", "--master", "local[2]",
        "--input", str(stream.files[0].parent), "--output", str(work / "out"),
        "--checkpoint", str(work / "checkpoint"), "--partitions", "2", "--trigger", "1",
        "--idle-after", str(idle), "--retire-after", str(retire), "--until-drained", "--profile",
        "--progress", str(work / f"progress-{name}.jsonl"),
    ]  # fmt: skip
    log = open(work / f"job-{name}.log", "wb")
    return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def finish(process: subprocess.Popen, work: Path, name: str) -> None:
    try:
        code = process.wait(TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        code = "timeout"
    if code != 0:
        tail = (work / f"job-{name}.log").read_bytes()[-6000:].decode(errors="replace")
        pytest.fail(f"job {name} ended with {code}:\n{tail}")


def rows_of(directory: Path):
    rows = output.read(directory)
    return rows[rows.kind != "profile"], rows[rows.kind == "profile"]


@pytest.fixture(scope="module")
def uninterrupted(stream, tmp_path_factory):
    work = tmp_path_factory.mktemp("uninterrupted")
    finish(job(stream, work, "run"), work, "run")
    return work


def test_each_tenant_gets_what_scan_gives_on_that_tenant_alone(stream, uninterrupted, tmp_path):
    rows, profile = rows_of(uninterrupted / "out")
    assert set(stream.tenants) == set(TENANTS.values()) | {TWIN, ""}
    assert set(rows.tenant) == set(stream.tenants)
    for tenant, lines in stream.tenants.items():
        alone = streams.scan(CLI, lines, tmp_path, tenant)
        mine = rows[rows.tenant == tenant]
        expected = Counter(json.dumps(f, sort_keys=True) for f in alone.findings)
        got = Counter(json.dumps(json.loads(j), sort_keys=True) for j in mine[mine.kind == "finding"].json)
        assert got == expected, f"tenant {tenant!r}: {len(got)} findings, scan alone gives {len(expected)}"
        assert (mine.kind == "rejected").sum() == alone.rejected, f"tenant {tenant!r}"
        assert (mine.kind == "error").sum() == 0
    # The scenarios' findings are all there (a tenant that found nothing would pass the above).
    detectors = set(rows[rows.tenant == TENANTS["midnight-blizzard"]].detector.dropna())
    assert {"distributed-password-spray", "spray-then-success", "attack-chain", "multi-mailbox-access"} <= detectors
    # Every finding names its tenant; the same story in two tenants is two sets of findings.
    for _, row in rows[(rows.kind == "finding") & (rows.tenant != "")].iterrows():
        assert json.loads(row.json)["cloud"]["account"]["uid"] == row.tenant
    twin = rows[(rows.tenant == TWIN) & (rows.kind == "finding")]
    original = rows[(rows.tenant == TENANTS["app-abuse"]) & (rows.kind == "finding")]
    assert sorted(zip(twin.detector, twin.time_ms)) == sorted(zip(original.detector, original.time_ms))
    assert len(twin) >= 5 and set(twin.uid).isdisjoint(original.uid)
    # Every worker loaded the driver's compiled component; none compiled it.
    loads = [json.loads(j)["component"] for j in profile.json]
    assert loads and all(c["loaded"] == 1 and c["refused"] == 0 for c in loads)


def test_rejected_lines_say_where_they_came_from(stream, uninterrupted):
    rows, _ = rows_of(uninterrupted / "out")
    rejected = [json.loads(j) for j in rows[rows.kind == "rejected"].json]
    by_place = {}
    for path in stream.files:
        for number, line in enumerate(path.read_bytes().split(b"\n"), 1):
            by_place[f"file:{path}:{number}"] = line
    for r in rejected:
        assert r["where"] in by_place, r["where"]
        assert by_place[r["where"]][:40].decode(errors="replace") == r["excerpt"][:40]
    assert {r["kind"] for r in rejected} == {"malformed", "not-an-object", "unknown-shape", "invalid-field"}


def test_killed_mid_stream_and_restarted_loses_and_duplicates_nothing(stream, uninterrupted, tmp_path):
    commits, offsets = tmp_path / "checkpoint/commits", tmp_path / "checkpoint/offsets"

    def batches(directory):
        return {int(p.name) for p in directory.iterdir() if p.name.isdigit()} if directory.is_dir() else set()

    process = job(stream, tmp_path, "killed")
    deadline = time.monotonic() + TIMEOUT
    writing = False
    while time.monotonic() < deadline and process.poll() is None:
        done, planned = batches(commits), batches(offsets)
        if len(done) >= 2 and planned - done:
            # A batch is under way after two have committed: kill it as it writes its files (or,
            # should writing never be caught, once the stream is nearly through).
            writing = bool(output.orphans(tmp_path / "out"))
            if writing or len(done) >= FILES - 2:
                break
        time.sleep(0.02)
    assert process.poll() is None, "the job ended before it could be killed"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(60)
    in_flight = batches(offsets) - batches(commits)
    assert in_flight, "the kill came between batches; nothing was in flight"
    left = output.orphans(tmp_path / "out")
    assert left or not writing

    finish(job(stream, tmp_path, "restarted"), tmp_path, "restarted")
    rerun = [json.loads(line)["batchId"] for line in (tmp_path / "progress-restarted.jsonl").read_text().splitlines()]
    assert min(in_flight) in rerun, "the batch in flight at the kill was not run again"

    def key(frame):
        return Counter(frame[["kind", "tenant", "detector", "severity", "uid", "time_ms", "json"]]
                       .astype(str).itertuples(index=False, name=None))  # fmt: skip

    before, _ = rows_of(uninterrupted / "out")
    after, _ = rows_of(tmp_path / "out")
    assert key(after) == key(before)
    assert (after.kind == "finding").sum() >= 40
    # The killed batch's files are still there, named by no log, and were not read.
    assert set(left) <= set(output.orphans(tmp_path / "out"))
    print(f"batch {sorted(in_flight)} killed in flight; {len(left)} uncommitted file(s) left, not read")


def test_quiet_tenants_advance_on_their_timers_then_retire(tmp_path):
    """Short timers on a short stream: each tenant's watermark moves on every IDLE_SHORT seconds of
    quiet (never more often), then the tenant retires; findings still those of `scan` alone.

    A timer fires only when a micro-batch runs. On two busy cores a batch can take several seconds,
    and a tenant whose first timer after its last input fires only once `retire` has passed
    retires without advancing (as it should). `retire` is eight idle intervals, so that missing
    every advance takes a run of batches over 21 seconds, not one slow batch (it did at 12)."""
    idle, retire = 3, 24
    per_tenant = {guid: streams.as_tenant(streams.generate(CLI, "app-abuse"), guid) for guid in (TWIN, TENANTS["app-abuse"])}
    stream = streams.interleave(per_tenant, [], tmp_path / "input", 2)
    finish(job(stream, tmp_path, "timers", idle=idle, retire=retire), tmp_path, "timers")
    rows, profile = rows_of(tmp_path / "out")
    for tenant, lines in stream.tenants.items():
        steps = sorted(
            (p["at_ms"], p["step"]) for p, t in zip(map(json.loads, profile.json), profile.tenant) if t == tenant
        )  # fmt: skip
        kinds = [step for _, step in steps]
        assert kinds[0] == "input" and kinds[-1] == "retire" and "advance" in kinds, kinds
        last_input = max(at for at, step in steps if step == "input")
        advances = [at for at, step in steps if step == "advance" and at > last_input]
        assert all(later - earlier >= idle * 1000 for earlier, later in zip([last_input] + advances, advances)), steps
        assert steps[-1][0] - last_input >= retire * 1000
        alone = streams.scan(CLI, lines, tmp_path, tenant)
        got = sorted(json.dumps(json.loads(j), sort_keys=True) for j in rows[(rows.tenant == tenant) & (rows.kind == "finding")].json)
        assert got == sorted(json.dumps(f, sort_keys=True) for f in alone.findings)
