"""Ownership marks: the ``tmc.kcp.io/`` labels and annotations that make a downstream object ours.

An object on a member cluster is *ours* when it carries the label ``tmc.kcp.io/managed-by=tmc``
together with an owner label and the ``tmc.kcp.io/object`` annotation. Only such objects are ever
updated or deleted; anything else on a member cluster is left alone, even when it has the name we
want (the plan reports it as skipped).

Labels hold what a controller selects on (label values are limited to 63 characters of
``[A-Za-z0-9_.-]``, so they carry hashes); annotations hold the exact, readable mapping back to the
upstream object (workspace paths such as ``root:org:ws`` are not valid label values).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tmc_core.sync.manifests import ObjectKey, metadata, short_hash

__all__ = [
    "APPLIED_ANNOTATION",
    "CLUSTER_ANNOTATION",
    "GENERATION_ANNOTATION",
    "MANAGED_BY_LABEL",
    "MANAGED_BY_VALUE",
    "NAMESPACE_ANNOTATION",
    "OBJECT_ANNOTATION",
    "OWNER_LABEL",
    "PLACEMENT_ANNOTATION",
    "PREFIX",
    "TENANT_LABEL",
    "WORKSPACE_ANNOTATION",
    "is_owned",
    "is_tmc_key",
    "object_ref",
    "owner_value",
    "ownership_marks",
    "tenant_value",
]

PREFIX = "tmc.kcp.io/"

#: Label: always ``tmc``; selects every object tmc manages on a member cluster.
MANAGED_BY_LABEL = PREFIX + "managed-by"
MANAGED_BY_VALUE = "tmc"
#: Label: hash of (workspace, group, kind, namespace, name) of the upstream owner; selects one
#: upstream object's copies.
OWNER_LABEL = PREFIX + "owner"
#: Label on downstream Namespaces: hash of the workspace; selects one tenant's namespaces.
TENANT_LABEL = PREFIX + "tenant"
#: Annotation: the upstream workspace (logical cluster name or path; empty for a plain hub).
WORKSPACE_ANNOTATION = PREFIX + "workspace"
#: Annotation: the upstream object as ``Kind[.group]/[namespace/]name`` (kubectl style).
OBJECT_ANNOTATION = PREFIX + "object"
#: Annotation on downstream Namespaces: the upstream namespace name.
NAMESPACE_ANNOTATION = PREFIX + "namespace"
#: Annotation: the placement (``namespace/name`` of the WorkloadPlacement) that put it there.
PLACEMENT_ANNOTATION = PREFIX + "placement"
#: Annotation: the member cluster the copy was rendered for.
CLUSTER_ANNOTATION = PREFIX + "cluster"
#: Annotation: upstream ``metadata.generation`` the copy was rendered from (for observedGeneration).
GENERATION_ANNOTATION = PREFIX + "generation"
#: Annotation: fingerprint of the rendered manifest (see ``tmc_core.sync.compare``).
APPLIED_ANNOTATION = PREFIX + "applied"


def is_tmc_key(key: str) -> bool:
    """Whether a label or annotation key belongs to tmc (and is therefore set by render only)."""
    return key.startswith(PREFIX)


def object_ref(key: ObjectKey) -> str:
    """The ``tmc.kcp.io/object`` value: ``Deployment.apps/shop/web``, ``Namespace/shop``."""
    return str(key)


def owner_value(workspace: str, key: ObjectKey) -> str:
    """The ``tmc.kcp.io/owner`` label value of an upstream object: 20 base32 characters (100 bits)."""
    return short_hash(workspace, key.group, key.kind, key.namespace, key.name, length=20)


def tenant_value(workspace: str) -> str:
    """The ``tmc.kcp.io/tenant`` label value of a workspace (same on every cluster)."""
    return short_hash("tenant", workspace, length=20)


def ownership_marks(
    workspace: str, owner: ObjectKey, *, placement: str = "", cluster: str = ""
) -> tuple[dict[str, str], dict[str, str]]:
    """The (labels, annotations) that mark a downstream copy of ``owner`` as ours.

    Empty ``placement``/``cluster`` are left out, so a Namespace shared by several placements
    renders the same whichever placement asked for it.
    """
    labels = {
        MANAGED_BY_LABEL: MANAGED_BY_VALUE,
        OWNER_LABEL: owner_value(workspace, owner),
    }
    annotations = {
        WORKSPACE_ANNOTATION: workspace,
        OBJECT_ANNOTATION: object_ref(owner),
    }
    if placement:
        annotations[PLACEMENT_ANNOTATION] = placement
    if cluster:
        annotations[CLUSTER_ANNOTATION] = cluster
    return labels, annotations


def is_owned(manifest: Mapping[str, Any]) -> bool:
    """Whether a (downstream) object is ours: managed-by label, owner label and object annotation."""
    meta = metadata(manifest)
    labels = meta.get("labels")
    annotations = meta.get("annotations")
    if not isinstance(labels, Mapping) or not isinstance(annotations, Mapping):
        return False
    return (
        labels.get(MANAGED_BY_LABEL) == MANAGED_BY_VALUE
        and bool(labels.get(OWNER_LABEL))
        and bool(annotations.get(OBJECT_ANNOTATION))
    )
