"""The job's command line, before any Spark starts."""

import json

from snowyowl_spark import job


def test_a_bad_engine_config_stops_the_job_before_spark_starts_naming_the_field(tmp_path, capsys):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"detectors": {"password-spray": {"window": "20x"}}}))
    argv = ["--input", str(tmp_path), "--output", str(tmp_path / "out"), "--checkpoint", str(tmp_path / "cp")]
    assert job.main(argv + ["--config", str(config)]) == 2
    assert "detectors.password-spray.window" in capsys.readouterr().err
    assert job.main(argv + ["--config", str(tmp_path / "missing.json")]) == 2


def test_the_output_schema_carries_what_findings_are_routed_on():
    names = [column.split()[0] for column in job.OUTPUT_DDL.split(", ")]
    assert names == ["kind", "tenant", "detector", "severity", "uid", "time_ms", "json"]
