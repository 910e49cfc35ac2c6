"""The catalog cache's record that its entries passed the schema and catalog-rule checks.

Those two checks (catalog/admission.py schema_problems) depend only on an entry and the
device names, and the cache file is keyed by the content of every conf file, so a warm load
whose record holds may skip them: on 5,000 models they were most of the load. The record is
bound to the verified entries (their digests), the device names and the code of the checks
(an edited rule in a development checkout, same version, checks again). Like the entry
digests it detects damage, not forgery: who may write the cache is trusted by owner and
modes (io/cachedir.py). It is written only when every entry passed, so a catalog with an
invalid entry is checked, and fails the same way, on every load. The configurator-class
check (user code, SPYRE_HYDRA_ALLOW_CUSTOM_CODE) and the duplicate-hf_id check stay live.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import json
from collections.abc import Mapping, Sequence

#: The modules whose code decides whether an entry passes (the schema, its walk, the rules
#: and what they call).
CHECK_MODULES = ("spyre_hydra.catalog.admission", "spyre_hydra.catalog.validate",
                 "spyre_hydra.catalog.rules", "spyre_hydra.catalog.plain",
                 "spyre_hydra.catalog.names", "spyre_hydra.conftree.schema",
                 "spyre_hydra.conftree.versions", "spyre_hydra.io.literal")

PASSED, STALE, DAMAGED = "passed", "stale", "damaged"


@functools.lru_cache(maxsize=1)
def checks_code() -> str:
    """sha256 over the check modules' source (the files' bytes, as installed)."""
    digest = hashlib.sha256()
    for name in CHECK_MODULES:
        path = getattr(importlib.import_module(name), "__file__", None) or ""
        try:
            with open(path, "rb") as fh:
                digest.update(fh.read())
        except OSError:  # no source file (a frozen install): the version in the key must do
            digest.update(name.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def _digest(entries: Mapping[str, dict], devices: Sequence[str], code: str) -> str:
    # the entries' digests name the cache format already
    blob = json.dumps(["checked", list(devices), code,
                       [[option, item["digest"]] for option, item in entries.items()]])
    return hashlib.sha256(blob.encode()).hexdigest()


def make_record(entries: Mapping[str, dict], devices: Sequence[str]) -> dict:
    """The record for sealed entries that all passed the checks with these device names."""
    code = checks_code()
    return {"devices": list(devices), "code": code,
            "digest": _digest(entries, devices, code)}


def record_state(record, entries: Mapping[str, dict], devices: Sequence[str] | None) -> str:
    """PASSED when ``record`` vouches for these verified entries with these device names and
    this check code; STALE when there is none or it was made for other device names or
    other code (check again); DAMAGED when its digest does not match (rebuild the file)."""
    if record is None:
        return STALE
    if not isinstance(record, dict) or not all(isinstance(record.get(k), t) for k, t in (
            ("devices", list), ("code", str), ("digest", str))):
        return DAMAGED
    if record["digest"] != _digest(entries, record["devices"], record["code"]):
        return DAMAGED
    if devices is None or record["devices"] != list(devices) or record["code"] != checks_code():
        return STALE
    return PASSED


__all__ = ["CHECK_MODULES", "DAMAGED", "PASSED", "STALE", "checks_code", "make_record",
           "record_state"]
