"""Tenant routing: the core's field order, every wrapper, and lines that are not JSON."""

import json
from pathlib import Path

import pytest

from snowyowl_spark.tenant import DEFAULT_TENANT, Router, tenant_of

DATA = Path(__file__).resolve().parents[3] / "tests/data"
SCENARIO_TENANT = "6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"

# (what, line, tenant): written as data, one case a row.
CASES = [
    ("azure monitor sign-in: the resource tenant first",
     {"tenantId": "e", "properties": {"resourceTenantId": "r", "AADTenantId": "a", "tenantId": "p"}}, "r"),
    ("azure monitor: AADTenantId before the envelope",
     {"tenantId": "e", "properties": {"AADTenantId": "a", "tenantId": "p"}}, "a"),
    ("azure monitor: the envelope before the record's own tenantId",
     {"tenantId": "e", "properties": {"tenantId": "p"}}, "e"),
    ("azure monitor: the record's tenantId when the envelope has none",
     {"category": "AuditLogs", "properties": {"tenantId": "p"}}, "p"),
    ("graph sign-in", {"resourceTenantId": "r", "homeTenantId": "h"}, "r"),
    ("log analytics SigninLogs row", {"TenantId": "workspace", "ResourceTenantId": "r"}, "r"),
    ("log analytics AuditLogs row", {"TenantId": "t", "AADTenantId": "a"}, "a"),
    ("unified audit log", {"Operation": "MailItemsAccessed", "OrganizationId": "o"}, "o"),
    ("unified audit log: OfficeTenantId", {"Operation": "Send", "Workload": "Exchange", "OfficeTenantId": "o"}, "o"),
    ("an empty value is no value", {"resourceTenantId": " ", "tenantId": "t"}, "t"),
    ("a null value is no value", {"resourceTenantId": None, "AADTenantId": "a"}, "a"),
    ("folded: custom table suffix", {"ResourceTenantId_g": "r", "TenantId_g": "t"}, "r"),
    ("folded: case and underscores", {"resource_tenant_id": "r"}, "r"),
    ("folded: a trailing underscore (Log Analytics' copy)", {"Operation": "x", "OrganizationId_": "o"}, "o"),
    ("folded: _string", {"Properties_string": None, "AADTenantId_string": "a"}, "a"),
    ("properties as JSON text", {"tenantId": "e", "properties": json.dumps({"resourceTenantId": "r"})}, "r"),
    ("event hub batch: its first record", {"records": [{"tenantId": "first"}, {"tenantId": "second"}]}, "first"),
    ("graph page", {"value": [{"resourceTenantId": "r"}]}, "r"),
    ("an empty batch", {"records": []}, DEFAULT_TENANT),
    ("a JSON array of records", [{"Operation": "x", "OrganizationId": "o"}, {"OrganizationId": "p"}], "o"),
    ("a line under log", {"log": json.dumps({"Operation": "x", "OrganizationId": "o"}), "stream": "stdout"}, "o"),
    ("plain text under log", {"log": "hello"}, DEFAULT_TENANT),
    ("log analytics query api answer",
     {"tables": [{"columns": [{"name": "TimeGenerated"}, {"name": "AADTenantId"}], "rows": [["2024", "a"]]}]}, "a"),
    ("GUIDs are case-insensitive", {"tenantId": "6F1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D"}, SCENARIO_TENANT),
    ("no tenant", {"userPrincipalName": "a@contoso.com"}, DEFAULT_TENANT),
    ("a number is read as text, as the core reads it", {"tenantId": 7}, "7"),
    ("an object is no tenant", {"tenantId": {"id": "t"}}, DEFAULT_TENANT),
    ("OfficeActivity row: the organisation, not the workspace's TenantId",
     {"TenantId": "workspace", "Operation": "MailItemsAccessed", "Workload": "Exchange", "OrganizationId": "o"}, "o"),
    ("unified audit log without OrganizationId: no tenant",
     {"TenantId": "workspace", "Operation": "Send", "RecordType": 2}, DEFAULT_TENANT),
    ("Operation alone is not the unified audit log", {"Operation": "x", "TenantId": "t"}, "t"),
    ("sign-in: OrganizationId is not read", {"userPrincipalName": "a", "OrganizationId": "o"}, DEFAULT_TENANT),
    ("not an object", 42, DEFAULT_TENANT),
]


@pytest.mark.parametrize("what,record,tenant", CASES, ids=[c[0] for c in CASES])
def test_tenant_of(what, record, tenant):
    line = json.dumps(record)
    assert tenant_of(line) == tenant
    assert tenant_of(line.encode()) == tenant


@pytest.mark.parametrize(
    "line",
    [b"", b"{", b"not json", b'{"tenantId": "a"', b"\xff\xfe{}", b"[" * 100_000, b'{"a":' * 50_000, b"NaN"],
    ids=["empty", "open brace", "text", "cut short", "not utf-8", "deep array", "deep object", "NaN"],
)
def test_lines_that_cannot_be_read_go_to_the_default_tenant(line):
    assert tenant_of(line) == DEFAULT_TENANT


def test_what_only_the_standard_library_reads_is_still_routed():
    # orjson refuses integers past 64 bits; json reads them, and so does the core.
    assert tenant_of(b'{"tenantId": "t", "n": 123456789012345678901234567890}') == "t"


def test_the_router_keys_lines_as_the_core_keys_lanes():
    config = {"tenants": {"together": [["Prod", "test "]], "default": "TEST"}}
    route = Router(json.dumps(config))
    assert route(json.dumps({"tenantId": "PROD"})) == "prod"
    assert route(json.dumps({"tenantId": "Test"})) == "prod"
    assert route(json.dumps({"tenantId": "other"})) == "other"
    assert route(json.dumps({"userPrincipalName": "a"})) == "prod"  # the default, in its group
    assert route(b"not json") == "prod"
    assert Router("")(b"not json") == DEFAULT_TENANT
    assert Router({"tenants": {"default": "D"}})(b"{}") == "d"


@pytest.mark.parametrize("scenario", ["demo-tenant", "midnight-blizzard", "app-abuse", "hostile"])
def test_every_scenario_line_goes_to_the_tenant_it_names(scenario):
    for line in (DATA / f"{scenario}.ndjson").read_bytes().split(b"\n"):
        if line.strip():
            expected = SCENARIO_TENANT if SCENARIO_TENANT.encode() in line else DEFAULT_TENANT
            assert tenant_of(line) == expected, line[:200]
