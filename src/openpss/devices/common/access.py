"""Bodies of the access-control CGI (``AccessUser``/``AccessCard``/``AccessFingerprint``)
that the terminal and the door station read alike."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from openpss.protocols.dahua_http.server import CgiError

MAX_BATCH = 100  # entries per insertMulti/updateMulti/removeMulti call


def batch_entries(body: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """The JSON objects of ``body[key]``: 1 to ``MAX_BATCH`` of them."""
    entries = body.get(key)
    if not isinstance(entries, list) or not entries:
        raise CgiError(f"Body needs a non-empty {key} array")
    if len(entries) > MAX_BATCH:
        raise CgiError(f"At most {MAX_BATCH} entries per call in {key}, not {len(entries)}")
    if not all(isinstance(e, dict) for e in entries):
        raise CgiError(f"Every {key} entry must be a JSON object")
    return entries


def decode_templates(entry: dict[str, Any]) -> list[bytes]:
    """``FingerprintData``: one base64 template or a list of them."""
    data = entry.get("FingerprintData", [])
    if isinstance(data, str):
        data = [data]
    try:
        return [base64.b64decode(str(item), validate=True) for item in data]
    except binascii.Error as exc:
        raise CgiError("FingerprintData must be base64 templates") from exc
