"""When is a downstream object in sync? The rule: compare fingerprints of what *we* rendered.

Render stamps every manifest with ``tmc.kcp.io/applied``: a fingerprint (SHA-256 of the canonical
JSON of the manifest, the stamp itself left out). An observed object is in sync when it is ours and
carries the fingerprint of the manifest we want now. This is the last-applied idea of
``kubectl apply``, reduced to a hash.

Why a fingerprint and not a structural "desired is a subset of observed" comparison: member API
servers legitimately rewrite what they store. They default fields (``imagePullPolicy``,
``protocol: TCP``, ``strategy``), inside list items too; canonicalise quantities (``"0.5"`` becomes
``"500m"``) and int-or-string values; drop nulls and empty fields; add status, uid,
resourceVersion, managedFields and their own labels and annotations; and CRDs bring their own
defaulting. A structural comparison must know all of that for every kind and version, and every gap
is an endless update loop. Annotations, by contrast, are stored verbatim, so the fingerprint is
exact, cheap and kind-agnostic, and ``plan(desired, observed after applying the plan)`` is empty by
construction.

What it gives up: a hand edit of a field we set on the member cluster (a ``kubectl edit`` there)
is not seen as drift until the upstream object changes, or the stamp itself is removed or altered,
which forces an update. A controller that wants periodic enforcement re-applies on a resync timer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from tmc_core.sync.manifests import Manifest, json_copy, metadata
from tmc_core.sync.ownership import APPLIED_ANNOTATION, is_owned

__all__ = ["applied_fingerprint", "fingerprint", "in_sync", "stamp"]

_VERSION = "v1"


def _without_stamp(manifest: Mapping[str, Any]) -> Manifest:
    out: Manifest = json_copy(manifest)
    meta = out.get("metadata")
    if isinstance(meta, dict):
        annotations = meta.get("annotations")
        if isinstance(annotations, dict):
            annotations.pop(APPLIED_ANNOTATION, None)
            if not annotations:
                del meta["annotations"]
    return out


def fingerprint(manifest: Mapping[str, Any]) -> str:
    """``v1-`` + 40 hex digits of SHA-256 over the canonical JSON (sorted keys), stamp excluded."""
    canonical = json.dumps(
        _without_stamp(manifest),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )
    return f"{_VERSION}-{hashlib.sha256(canonical.encode()).hexdigest()[:40]}"


def stamp(manifest: Mapping[str, Any]) -> Manifest:
    """A copy of ``manifest`` carrying its fingerprint in ``tmc.kcp.io/applied``."""
    out = _without_stamp(manifest)
    meta = out.setdefault("metadata", {})
    meta.setdefault("annotations", {})[APPLIED_ANNOTATION] = fingerprint(out)
    return out


def applied_fingerprint(observed: Mapping[str, Any]) -> str | None:
    """The fingerprint an observed object was last written with, if any."""
    annotations = metadata(observed).get("annotations")
    if not isinstance(annotations, Mapping):
        return None
    value = annotations.get(APPLIED_ANNOTATION)
    return value if isinstance(value, str) else None


def in_sync(desired: Mapping[str, Any], observed: Mapping[str, Any]) -> bool:
    """Whether ``observed`` is ours and was written from exactly ``desired``.

    Everything the member adds (status, defaults, its own labels and annotations, server fields)
    is ignored; see the module docstring for the rule and what it gives up.
    """
    return is_owned(observed) and applied_fingerprint(observed) == fingerprint(desired)
