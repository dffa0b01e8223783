"""The Kafka ends of the job, on batch DataFrames shaped as the Kafka source gives and the Kafka
sink takes (the Kafka connector itself is a Maven package, not on PyPI: not run here)."""

import datetime as dt
import json

import pytest

from snowyowl_spark import job
from snowyowl_spark.processor import OUTPUT_DDL

KAFKA_SOURCE_DDL = "key binary, value binary, topic string, partition int, offset long, timestamp timestamp"


@pytest.fixture(scope="module")
def spark():
    session = job.build_session("local[2]", 2, app="snowyowl-kafka-test")
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def at(second):
    return dt.datetime(2024, 1, 15, 9, 0, second, tzinfo=dt.timezone.utc)


def test_kafka_records_are_routed_to_their_tenant_in_broker_order(spark):
    batch = {"records": [{"tenantId": "T2", "properties": {"resourceTenantId": "t1"}}, {"tenantId": "t9"}]}
    pretty = json.dumps({"OrganizationId": "T3", "Operation": "MailItemsAccessed"}, indent=2)
    records = [
        (None, json.dumps(batch).encode(), "entra", 1, 40, at(2)),
        (None, b"not json", "entra", 0, 7, at(1)),
        (None, pretty.encode(), "entra", 0, 8, at(3)),
        (None, b"   ", "entra", 1, 41, at(4)),
    ]
    frame = spark.createDataFrame(records, KAFKA_SOURCE_DDL)
    routed = job.kafka_lines(frame).mapInPandas(job.route, job.ROUTED_DDL).collect()
    got = sorted((r.order_time, r.tenant, r.where, r.order_source, r.order_position) for r in routed)
    base = int(at(0).timestamp() * 1000)
    assert got == [
        (base + 1000, "", "entra[0]@7", "entra[0]", 7),
        (base + 2000, "t1", "entra[1]@40", "entra[1]", 40),
        (base + 3000, "t3", "entra[0]@8", "entra[0]", 8),
    ]  # the blank record is dropped; the pretty one keeps its newlines
    assert [bytes(r.line) for r in routed if r.tenant == "t3"] == [pretty.encode()]


def test_output_rows_become_keyed_kafka_records_on_two_topics(spark):
    rows = [
        ("finding", "t1", "password-spray", "medium", "u1", 1, '{"a":1}'),
        ("finding", "t2", "password-spray", "medium", "u1", 1, '{"a":1}'),
        ("rejected", "t1", None, None, "entra[0]@7", None, '{"reason":"x"}'),
        ("error", "t1", None, None, None, None, '{"reason":"y"}'),
        ("profile", "t1", None, None, None, None, "{}"),
    ]
    frame = spark.createDataFrame(rows, OUTPUT_DDL)
    records = job.kafka_records(frame, "findings", "rejected").collect()
    got = sorted((r.topic, r.key, r.value) for r in records)
    assert got == [
        ("findings", "t1:u1", '{"a":1}'),
        ("findings", "t2:u1", '{"a":1}'),  # one uid in two tenants: two keys
        ("rejected", "t1", '{"reason":"y"}'),
        ("rejected", "t1:entra[0]@7", '{"reason":"x"}'),
    ]
    headers = {h.key: h.value for h in records[0].headers}
    assert set(headers) == {"kind", "tenant", "detector", "severity"}
    assert bytes(headers["kind"]) == b"finding"
