"""Downstream namespace names: one per upstream (workspace, namespace), the same on every cluster.

Scheme: ``tmc-<readable>-<hash>`` where

* ``<hash>`` is 16 lower-case base32 characters (80 bits) of SHA-256 over the JSON pair
  ``[workspace, namespace]``; this part alone makes names distinct (a collision needs about 2^40
  namespaces to become likely), and the JSON framing keeps ("a-b", "c") apart from ("a", "b-c");
* ``<readable>`` is the upstream namespace reduced to ``[a-z0-9-]`` and cut to 42 characters,
  so people can find ``shop`` in ``tmc-shop-...``; it carries no identity, the hash does;
* the result is a DNS-1123 label of at most 63 characters: ``tmc-`` + 42 + ``-`` + 16.

Unlike kcp's old syncer the member cluster is not part of the hash: the same workspace namespace
has the same name everywhere, which makes cross-cluster tooling and the docs simpler. The mapping
back is kept on the Namespace: annotations ``tmc.kcp.io/workspace`` and ``tmc.kcp.io/namespace``
(exact values), label ``tmc.kcp.io/tenant`` (hash of the workspace, to select a tenant's namespaces).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from tmc_core.errors import InvalidInput
from tmc_core.sync.manifests import ObjectKey, metadata, short_hash
from tmc_core.sync.ownership import (
    NAMESPACE_ANNOTATION,
    TENANT_LABEL,
    WORKSPACE_ANNOTATION,
    ownership_marks,
    tenant_value,
)

__all__ = [
    "HASH_LENGTH",
    "MAX_READABLE",
    "downstream_namespace",
    "is_dns1123_label",
    "namespace_marks",
    "upstream_namespace",
]

HASH_LENGTH = 16
MAX_READABLE = 63 - len("tmc-") - 1 - HASH_LENGTH  # 42

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_NOT_LABEL_CHAR = re.compile(r"[^a-z0-9-]+")


def is_dns1123_label(name: str) -> bool:
    """Kubernetes namespace names: ``[a-z0-9]([-a-z0-9]*[a-z0-9])?``, at most 63 characters."""
    return len(name) <= 63 and bool(_DNS1123_LABEL.match(name))


def _readable(namespace: str) -> str:
    text = _NOT_LABEL_CHAR.sub("-", namespace.lower())[:MAX_READABLE]
    return text.strip("-")


def downstream_namespace(workspace: str, namespace: str) -> str:
    """The namespace on member clusters for ``namespace`` of ``workspace`` (``tmc-shop-<hash>``)."""
    if not namespace:
        raise InvalidInput("upstream namespace must not be empty", path="metadata.namespace")
    digest = short_hash(workspace, namespace, length=HASH_LENGTH)
    readable = _readable(namespace)
    return f"tmc-{readable}-{digest}" if readable else f"tmc-{digest}"


def namespace_marks(workspace: str, namespace: str) -> tuple[dict[str, str], dict[str, str]]:
    """(labels, annotations) of a downstream Namespace: ownership by the upstream Namespace plus
    the tenant label and the exact mapping back."""
    labels, annotations = ownership_marks(workspace, ObjectKey(kind="Namespace", name=namespace))
    labels[TENANT_LABEL] = tenant_value(workspace)
    annotations[NAMESPACE_ANNOTATION] = namespace
    return labels, annotations


def upstream_namespace(downstream: Mapping[str, Any]) -> tuple[str, str] | None:
    """(workspace, namespace) a downstream Namespace maps back to, or ``None`` if it is not ours.

    The annotations are trusted only when they hash to the Namespace's own name, so a copied or
    hand-edited annotation cannot make a foreign namespace look like a tenant's.
    """
    meta = metadata(downstream)
    annotations = meta.get("annotations")
    name = meta.get("name")
    if not isinstance(annotations, Mapping) or not isinstance(name, str):
        return None
    workspace = annotations.get(WORKSPACE_ANNOTATION)
    namespace = annotations.get(NAMESPACE_ANNOTATION)
    if not isinstance(workspace, str) or not isinstance(namespace, str) or not namespace:
        return None
    if downstream_namespace(workspace, namespace) != name:
        return None
    return workspace, namespace
