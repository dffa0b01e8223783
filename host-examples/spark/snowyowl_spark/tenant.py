"""The tenant a raw log line belongs to, read the way the core reads it (one ``json.loads``).

The job groups lines by tenant before any engine sees them, so this must agree with the core on
which field names the tenant, and must never fail: a line it cannot read goes to
:data:`DEFAULT_TENANT`, where that tenant's engine reports it like any other bad line.

Order (the core's, ``src/normalize``): in the record (``properties`` of an Azure Monitor envelope,
else the line itself) ``resourceTenantId``, then ``AADTenantId``; then the envelope's
``tenantId``; then the record's own ``tenantId``; then ``OrganizationId`` (``OfficeTenantId``) of
unified audit log records. The first non-empty value wins. Keys are matched as written, then
folded as the core folds them (case and underscores ignored, one export suffix dropped:
``_string``, ``_dynamic``, ``_s``, ``_g``, …, a trailing ``_``). A ``{"records": [...]}`` (Event
Hub) or ``{"value": [...]}`` (Graph page) line, or a JSON array, is read by its first record; a
line of JSON under ``log`` (Fluent Bit ``tail``, Docker) by the line inside, and a Log
Analytics query API answer (``{"tables": [...]}``) by its first row. GUIDs are
case-insensitive, so tenants are lower-cased: two spellings of one tenant share one engine.
"""

from __future__ import annotations

import json
from typing import Any, Optional, Union

try:  # orjson (pinned in requirements.txt) parses a line in a fifth of json's time
    from orjson import loads as _fast_loads
except ImportError:  # pragma: no cover - the standard library is enough, only slower
    _fast_loads = json.loads

__all__ = ["DEFAULT_TENANT", "tenant_of"]

DEFAULT_TENANT = ""
"""Where lines with no tenant (or that are not JSON) go."""

# The fields in the core's order, each with its spellings as written and its folded form.
_RECORD_FIRST = (
    (("resourceTenantId", "ResourceTenantId"), "resourcetenantid"),
    (("AADTenantId",), "aadtenantid"),
)
_TENANT_ID = (("tenantId", "TenantId", "tenantid"), "tenantid")
_RECORD_LAST = (
    _TENANT_ID,
    (("OrganizationId", "OfficeTenantId"), "organizationid"),
    ((), "officetenantid"),
)
_SUFFIXES = ("_dynamic", "_string", "_s", "_d", "_b", "_g", "_t", "_")
_WRAPPERS = ("records", "Records", "value", "Value")
_MAX_DEPTH = 4


def tenant_of(line: Union[str, bytes]) -> str:
    """The tenant of one line (NDJSON record or wrapper), or :data:`DEFAULT_TENANT`."""
    try:
        value = _fast_loads(line)
    except (ValueError, UnicodeDecodeError, RecursionError):
        # What orjson refuses and the core may still read (NaN, integers past 64 bits).
        try:
            value = json.loads(line)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return DEFAULT_TENANT
    return _of_value(value, 0) or DEFAULT_TENANT


def _of_value(value: Any, depth: int) -> Optional[str]:
    if depth > _MAX_DEPTH:
        return None
    if isinstance(value, list):
        return _of_value(value[0], depth + 1) if value else None
    if not isinstance(value, dict):
        return None
    for wrapper in _WRAPPERS:
        inner = value.get(wrapper)
        if isinstance(inner, list):
            return _of_value(inner[0], depth + 1) if inner else None
    tables = value.get("tables", value.get("Tables"))
    if isinstance(tables, list):
        return _of_value(_first_row(tables), depth + 1)
    found = _of_record(value)
    if found is None:
        logged = value.get("log")
        if isinstance(logged, str) and logged.lstrip()[:1] in ("{", "["):
            try:
                return _of_value(json.loads(logged), depth + 1)
            except (ValueError, RecursionError):
                return None
    return found


def _first_row(tables: list) -> Optional[dict]:
    """The first row of a Log Analytics query API answer, as an object keyed by column name."""
    for table in tables:
        if not isinstance(table, dict):
            continue
        columns, rows = table.get("columns"), table.get("rows")
        if isinstance(columns, list) and isinstance(rows, list) and rows and isinstance(rows[0], list):
            names = [c.get("name") if isinstance(c, dict) else None for c in columns]
            return {name: cell for name, cell in zip(names, rows[0]) if isinstance(name, str)}
    return None


def _of_record(envelope: dict) -> Optional[str]:
    properties = envelope.get("properties")
    if properties is None:
        properties = _folded(envelope).get("properties")
    if isinstance(properties, str) and properties.lstrip().startswith("{"):
        try:
            properties = json.loads(properties)
        except (ValueError, RecursionError):
            properties = None
    record = properties if isinstance(properties, dict) else envelope
    outer = envelope if record is not envelope else None
    order = [(record, field) for field in _RECORD_FIRST]
    if outer is not None:
        order.append((outer, _TENANT_ID))
    order += [(record, field) for field in _RECORD_LAST]
    # Fast path: the spellings as written; the folded keys only when none of them is there.
    for obj, (spellings, _) in order:
        for key in spellings:
            text = _text(obj.get(key))
            if text:
                return text
    folded = {id(record): _folded(record)}
    if outer is not None:
        folded[id(outer)] = _folded(outer)
    for obj, (_, name) in order:
        text = _text(folded[id(obj)].get(name))
        if text:
            return text
    return None


def _folded(obj: dict) -> dict:
    """Keys folded as the core folds them (first non-empty value of a name wins)."""
    out: dict = {}
    for key, value in obj.items():
        if not isinstance(key, str) or len(key) > 64:
            continue
        lower = key.lower()
        if lower.endswith(" [utc]"):
            lower = lower[: -len(" [utc]")]
        names = [lower.replace("_", "")]
        for suffix in _SUFFIXES:
            if lower.endswith(suffix):
                names.append(lower[: -len(suffix)].replace("_", ""))
                break
        for name in names:
            if name not in out or (not _text(out[name]) and _text(value)):
                out[name] = value
    return out


def _text(value: Any) -> Optional[str]:
    if isinstance(value, str):
        value = value.strip()
        return value.lower() if value else None
    return None
