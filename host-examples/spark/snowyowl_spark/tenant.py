"""The tenant a raw log line belongs to, read the way the core reads it (one ``json.loads``).

The job groups lines by tenant before any engine sees them, so this must agree with the core on
which field names the tenant, and must never fail: a line it cannot read goes to
:data:`DEFAULT_TENANT`, where that tenant's engine reports it like any other bad line.

Order (the core's, ``src/normalize``), by the record's shape: a sign-in, audit or risk detection
reads ``resourceTenantId``, then ``AADTenantId`` in the record (``properties`` of an Azure Monitor
envelope, else the line itself), then the envelope's ``tenantId``, then the record's own; a
unified audit log record (``Operation`` with ``Workload``, ``RecordType``, ``CreationTime`` or
``OrganizationId``; a Log Analytics ``OfficeActivity`` row) reads ``OrganizationId``
(``OfficeTenantId``) only, never the workspace's ``TenantId``. The first non-empty value wins;
numbers and booleans are read as text, as the core reads them. Keys are matched as written, then
folded as the core folds them (case and underscores ignored, one export suffix dropped:
``_string``, ``_dynamic``, ``_s``, ``_g``, …, a trailing ``_``). A ``{"records": [...]}`` (Event
Hub) or ``{"value": [...]}`` (Graph page) line, or a JSON array, is read by its first record; a
line of JSON under ``log`` (Fluent Bit ``tail``, Docker) by the line inside, and a Log
Analytics query API answer (``{"tables": [...]}``) by its first row. GUIDs are
case-insensitive, so tenants are keyed as the core keys its lanes (trimmed, ASCII lower case): two
spellings of one tenant share one engine. :class:`Router` adds the configuration's
``tenants.together`` and ``tenants.default``, as the core does.
"""

from __future__ import annotations

import json
from typing import Any, Optional, Union

try:  # orjson (pinned in requirements.txt) parses a line in a fifth of json's time
    from orjson import loads as _fast_loads
except ImportError:  # pragma: no cover - the standard library is enough, only slower
    _fast_loads = json.loads

__all__ = ["DEFAULT_TENANT", "Router", "tenant_of"]

DEFAULT_TENANT = ""
"""Where lines with no tenant (or that are not JSON) go, unless ``tenants.default`` names one."""

# Each field: its spellings as written, and its folded name.
_RESOURCE_TENANT = (("resourceTenantId", "ResourceTenantId"), "resourcetenantid")
_AAD_TENANT = (("AADTenantId",), "aadtenantid")
_TENANT_ID = (("tenantId", "TenantId", "tenantid"), "tenantid")
_ORGANIZATION = (("OrganizationId", "OfficeTenantId"), "organizationid")
_OFFICE_TENANT = ((), "officetenantid")
_OPERATION = (("Operation", "operation"), "operation")
_OFFICE_MARKERS = (
    (("Workload",), "workload"),
    (("RecordType",), "recordtype"),
    (("CreationTime",), "creationtime"),
    _ORGANIZATION,
)
_SUFFIXES = ("_dynamic", "_string", "_s", "_d", "_b", "_g", "_t", "_")
_WRAPPERS = ("records", "Records", "value", "Value")
_MAX_DEPTH = 4


class Router:
    """The key of a line's engine, as the core keys its lanes: the line's tenant, the first tenant
    of its ``tenants.together`` group, or for a line that names none ``tenants.default``
    (:data:`DEFAULT_TENANT` when unset). ``config`` is the engine configuration (JSON text or a
    dict); the engine itself validates it."""

    def __init__(self, config: Union[None, str, dict] = None):
        if isinstance(config, str):
            config = json.loads(config) if config.strip() else {}
        tenants = (config or {}).get("tenants") or {}
        self.together: dict[str, str] = {}
        for group in tenants.get("together") or []:
            keys = [_key(t) for t in group if isinstance(t, str)]
            for key in keys:
                self.together.setdefault(key, keys[0])
        default = tenants.get("default")
        default = _key(default) if isinstance(default, str) else DEFAULT_TENANT
        self.default = self.together.get(default, default)

    def __call__(self, line: Union[str, bytes]) -> str:
        tenant = tenant_of(line)
        return self.together.get(tenant, tenant) if tenant else self.default


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
    """The tenant of one record, by the core's order for its shape."""
    outer = _Keys(envelope)
    properties = envelope.get("properties", envelope.get("Properties"))
    if isinstance(properties, str) and properties.lstrip().startswith("{"):
        try:
            properties = json.loads(properties)
        except (ValueError, RecursionError):
            properties = None
    if isinstance(properties, dict):  # Azure Monitor: sign-in, audit or risk in properties
        record = _Keys(properties)
        order = [(record, _RESOURCE_TENANT), (record, _AAD_TENANT), (outer, _TENANT_ID), (record, _TENANT_ID)]
    elif outer.get(_OPERATION) and any(outer.get(marker) for marker in _OFFICE_MARKERS):
        order = [(outer, _ORGANIZATION), (outer, _OFFICE_TENANT)]  # unified audit log
    else:  # Graph or Log Analytics: sign-in, audit or risk
        order = [(outer, _RESOURCE_TENANT), (outer, _AAD_TENANT), (outer, _TENANT_ID)]
    for keys, field in order:
        text = keys.get(field)
        if text:
            return text
    return None


class _Keys:
    """A record's fields by the core's lookup: as written, else folded (folded once, when needed)."""

    def __init__(self, obj: dict):
        self.obj = obj
        self.folded: Optional[dict] = None

    def get(self, field: tuple) -> Optional[str]:
        spellings, name = field
        for key in spellings:
            text = _text(self.obj.get(key))
            if text:
                return text
        if self.folded is None:
            self.folded = _folded(self.obj)
        return _text(self.folded.get(name))


def _folded(obj: dict) -> dict:
    """The keys this module reads, folded as the core folds them (first non-empty value of a name
    wins); other keys are skipped on their first letters."""
    out: dict = {}
    for key, value in obj.items():
        if not isinstance(key, str) or len(key) > 64 or key[:1].lower() not in _FIRST_LETTERS:
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
            if name in _NAMES and (name not in out or (not _text(out[name]) and _text(value))):
                out[name] = value
    return out


_NAMES = {
    "resourcetenantid", "aadtenantid", "tenantid", "organizationid", "officetenantid",
    "operation", "workload", "recordtype", "creationtime",
}  # fmt: skip
_FIRST_LETTERS = {name[0] for name in _NAMES} | {"_"}


_ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}


def _key(tenant: str) -> str:
    """A tenant id as the core keys lanes: trimmed, ASCII lower case (GUIDs are written both ways)."""
    return tenant.strip().translate(_ASCII_LOWER)


def _text(value: Any) -> Optional[str]:
    """A scalar read as text, as the core reads it (numbers and booleans too); empty is none."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    if isinstance(value, str):
        return _key(value) or None
    return None
