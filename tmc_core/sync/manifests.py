"""Plain-dict manifests: the JSON-like copy every sync function works on, and object identity.

Sync functions take and return plain ``dict`` manifests. They never mutate their inputs: every
function starts from :func:`json_copy`, which also rejects what is not JSON (so a hash of a
manifest is always defined) and turns YAML timestamps into RFC 3339 strings.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from pydantic import Field

from tmc_core.errors import InvalidInput
from tmc_core.model.base import Value

__all__ = [
    "Manifest",
    "ObjectKey",
    "describe",
    "group_of",
    "json_copy",
    "key_of",
    "metadata",
    "short_hash",
]

Manifest = dict[str, Any]


def _rfc3339(value: datetime | date) -> str:
    if not isinstance(value, datetime):
        return value.isoformat()
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="seconds") + "Z"


def json_copy(value: Any, *, obj: str = "", path: str = "") -> Any:
    """A deep copy made only of dict/list/str/int/float/bool/None; tuples become lists.

    Raises ``InvalidInput`` (naming ``obj`` and the field path) for anything else, for non-string
    keys and for NaN or infinite floats.
    """
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInput(f"not a finite number: {value!r}", obj=obj, path=path)
        return value
    if isinstance(value, (datetime, date)):
        return _rfc3339(value)
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise InvalidInput(f"map key {k!r} is not a string", obj=obj, path=path)
            out[k] = json_copy(v, obj=obj, path=f"{path}.{k}" if path else k)
        return out
    if isinstance(value, (list, tuple)):
        return [json_copy(v, obj=obj, path=f"{path}[{i}]") for i, v in enumerate(value)]
    raise InvalidInput(f"not a JSON value: {type(value).__name__}", obj=obj, path=path)


def short_hash(*parts: str, length: int = 16) -> str:
    """Lower-case base32 (a-z, 2-7) of SHA-256 over the JSON list of ``parts``, cut to ``length``.

    JSON framing makes the input unambiguous (("a-b", "c") and ("a", "b-c") hash differently);
    base32 keeps the result valid in DNS labels and label values; 16 characters carry 80 bits.
    """
    data = json.dumps(list(parts), ensure_ascii=False, separators=(",", ":")).encode()
    digest = base64.b32encode(hashlib.sha256(data).digest()).decode().lower().rstrip("=")
    return digest[:length]


def metadata(manifest: Mapping[str, Any]) -> Mapping[str, Any]:
    """``metadata`` of a manifest, or an empty mapping when it is absent or not a map."""
    meta = manifest.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def group_of(api_version: str) -> str:
    """The API group of ``apiVersion`` ("apps/v1" -> "apps", "v1" -> "")."""
    return api_version.rpartition("/")[0]


class ObjectKey(Value):
    """Identity of one object on one cluster: group, kind, namespace, name (not the version).

    The version is left out on purpose: ``autoscaling/v1`` and ``autoscaling/v2`` views of one HPA
    are the same object.
    """

    group: str = ""
    kind: str = Field(min_length=1)
    namespace: str = ""
    name: str = Field(min_length=1)

    def __str__(self) -> str:
        kind = f"{self.kind}.{self.group}" if self.group else self.kind
        return f"{kind}/{self.namespace}/{self.name}" if self.namespace else f"{kind}/{self.name}"


def describe(manifest: Mapping[str, Any]) -> str:
    """``Kind namespace/name`` for error messages; tolerant of malformed input."""
    meta = metadata(manifest)
    kind = manifest.get("kind") or "object"
    name = meta.get("name") or "?"
    ns = meta.get("namespace")
    return f"{kind} {ns}/{name}" if ns else f"{kind} {name}"


def key_of(manifest: Mapping[str, Any]) -> ObjectKey:
    """The :class:`ObjectKey` of a manifest; ``InvalidInput`` when apiVersion/kind/name are missing."""
    obj = describe(manifest)
    api_version = manifest.get("apiVersion")
    kind = manifest.get("kind")
    if not isinstance(api_version, str) or not api_version:
        raise InvalidInput("required field is missing", obj=obj, path="apiVersion")
    if not isinstance(kind, str) or not kind:
        raise InvalidInput("required field is missing", obj=obj, path="kind")
    meta = metadata(manifest)
    name = meta.get("name")
    if not isinstance(name, str) or not name:
        raise InvalidInput("required field is missing", obj=obj, path="metadata.name")
    ns = meta.get("namespace") or ""
    if not isinstance(ns, str):
        raise InvalidInput("must be a string", obj=obj, path="metadata.namespace")
    return ObjectKey(group=group_of(api_version), kind=kind, namespace=ns, name=name)
