"""render: one upstream object + its decision + one member cluster -> the manifests for that cluster.

Steps, in this order (each one a small function below):

1. copy the upstream object and strip what its API server owns (uid, resourceVersion,
   managedFields, generation, timestamps, finalizers, ownerReferences, status, allocated IPs,
   generated Job selectors, kcp's and kubectl's bookkeeping annotations, tmc's own marks);
2. set the cluster's replicas from the decision (``spec.replicas``; ``spec.parallelism`` for a
   Job) when the object is the decision's workload;
3. apply the overrides that select the cluster (``tmc_core.sync.overrides``);
4. map the namespace to the downstream one (``tmc_core.sync.namespaces``) and rewrite
   ServiceAccount subjects of RoleBindings and ClusterRoleBindings to match;
5. add the ownership marks (``tmc_core.sync.ownership``) and the upstream generation;
6. stamp the fingerprint used by the plan (``tmc_core.sync.compare``).

A namespaced object renders as ``[Namespace, object]``: the downstream Namespace always travels
with what lives in it, so a plan for a cluster is complete. The Namespace rendered is the same
for every object of that upstream namespace (pass the upstream Namespace as ``namespace=`` to
carry its labels, for instance pod-security ones), so the plan can merge the copies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tmc_core.errors import InvalidInput
from tmc_core.model.cluster import Cluster
from tmc_core.model.decision import Decision
from tmc_core.sync.compare import stamp
from tmc_core.sync.manifests import (
    Manifest,
    ObjectKey,
    describe,
    group_of,
    json_copy,
    key_of,
    metadata,
)
from tmc_core.sync.namespaces import downstream_namespace, namespace_marks
from tmc_core.sync.overrides import Override, apply_overrides
from tmc_core.sync.ownership import (
    GENERATION_ANNOTATION,
    NAMESPACE_ANNOTATION,
    is_tmc_key,
    ownership_marks,
)

__all__ = ["KCP_CLUSTER_ANNOTATION", "render", "render_namespace", "strip_server_fields"]

#: Where kcp records an object's logical cluster; the default for ``workspace``.
KCP_CLUSTER_ANNOTATION = "kcp.io/cluster"

_SERVER_METADATA = (
    "uid",
    "resourceVersion",
    "generation",
    "managedFields",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "selfLink",
    "generateName",
    "finalizers",  # the upstream controllers' finalizers (ours included) mean nothing downstream
    "ownerReferences",  # they point at upstream uids
)
_SERVER_ANNOTATIONS = frozenset(
    {
        KCP_CLUSTER_ANNOTATION,
        "kcp.io/path",
        "kubectl.kubernetes.io/last-applied-configuration",
        "deployment.kubernetes.io/revision",
        "pv.kubernetes.io/bind-completed",
        "pv.kubernetes.io/bound-by-controller",
        "volume.beta.kubernetes.io/storage-provisioner",
        "volume.kubernetes.io/storage-provisioner",
        "volume.kubernetes.io/selected-node",
    }
)
_SERVER_LABELS = frozenset({"kubernetes.io/metadata.name"})
_JOB_TEMPLATE_LABELS = ("controller-uid", "batch.kubernetes.io/controller-uid")
_REPLICATED_KINDS = frozenset(
    {("apps", "Deployment"), ("apps", "StatefulSet"), ("apps", "ReplicaSet"), ("", "ReplicationController")}
)
_RBAC = "rbac.authorization.k8s.io"


def _clean_map(meta: dict[str, Any], field: str, drop: frozenset[str]) -> None:
    values = meta.get(field)
    if not isinstance(values, dict):
        meta.pop(field, None)
        return
    kept = {k: v for k, v in values.items() if k not in drop and not is_tmc_key(k)}
    if kept:
        meta[field] = kept
    else:
        meta.pop(field, None)


def _strip_kind_fields(doc: Manifest, key: ObjectKey) -> None:
    spec = doc.get("spec")
    if not isinstance(spec, dict):
        return
    kind = (key.group, key.kind)
    if kind == ("", "Service"):
        if spec.get("clusterIP") != "None":  # headless is the user's choice; an IP was allocated
            spec.pop("clusterIP", None)
            spec.pop("clusterIPs", None)
        spec.pop("healthCheckNodePort", None)
    elif kind == ("batch", "Job"):
        if not spec.get("manualSelector"):
            spec.pop("selector", None)
            template = spec.get("template")
            tmeta = template.get("metadata") if isinstance(template, dict) else None
            labels = tmeta.get("labels") if isinstance(tmeta, dict) else None
            if isinstance(labels, dict):
                for label in _JOB_TEMPLATE_LABELS:
                    labels.pop(label, None)
    elif kind == ("", "Pod"):
        spec.pop("nodeName", None)
    elif kind == ("", "PersistentVolumeClaim"):
        spec.pop("volumeName", None)
    elif kind == ("", "Namespace"):
        spec.pop("finalizers", None)
        if not spec:
            doc.pop("spec")


def strip_server_fields(manifest: Mapping[str, Any]) -> Manifest:
    """A copy of ``manifest`` without the fields its API server owns (see the module docstring)."""
    obj = describe(manifest)
    doc: Manifest = json_copy(manifest, obj=obj)
    key = key_of(doc)
    doc.pop("status", None)
    meta = doc["metadata"]
    for field in _SERVER_METADATA:
        meta.pop(field, None)
    _clean_map(meta, "labels", _SERVER_LABELS)
    _clean_map(meta, "annotations", _SERVER_ANNOTATIONS)
    if (key.group, key.kind) == ("", "ServiceAccount") and isinstance(doc.get("secrets"), list):
        generated = f"{key.name}-token-"
        secrets = [
            s
            for s in doc["secrets"]
            if not (isinstance(s, dict) and str(s.get("name", "")).startswith(generated))
        ]
        if secrets:
            doc["secrets"] = secrets
        else:
            del doc["secrets"]
    _strip_kind_fields(doc, key)
    return doc


def _merge_marks(doc: Manifest, labels: Mapping[str, str], annotations: Mapping[str, str]) -> None:
    meta = doc.setdefault("metadata", {})
    meta["labels"] = {**(meta.get("labels") or {}), **labels}
    meta["annotations"] = {**(meta.get("annotations") or {}), **annotations}


def render_namespace(upstream: Mapping[str, Any] | str, *, workspace: str = "") -> Manifest:
    """The downstream Namespace for an upstream Namespace (a manifest, or just its name).

    Its user labels and annotations are kept (pod-security and the like); its name is mapped; it
    carries the namespace mapping marks but no placement or cluster, since many placements share it.
    """
    source: Mapping[str, Any] = (
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": upstream}}
        if isinstance(upstream, str)
        else upstream
    )
    doc = strip_server_fields(source)
    key = key_of(doc)
    if (key.group, key.kind) != ("", "Namespace"):
        raise InvalidInput(f"expected a v1 Namespace, got {key.kind}", obj=describe(source), path="kind")
    doc["metadata"]["name"] = downstream_namespace(workspace, key.name)
    _merge_marks(doc, *namespace_marks(workspace, key.name))
    return stamp(doc)


def _is_decision_workload(key: ObjectKey, decision: Decision) -> bool:
    ref = decision.workload
    return (group_of(ref.api_version), ref.kind, ref.namespace, ref.name) == (
        key.group,
        key.kind,
        key.namespace,
        key.name,
    )


def _set_replicas(doc: Manifest, key: ObjectKey, replicas: int) -> None:
    spec = doc.get("spec")
    if spec is None:
        spec = doc["spec"] = {}
    if not isinstance(spec, dict):
        raise InvalidInput("must be an object", obj=describe(doc), path="spec")
    if (key.group, key.kind) == ("batch", "Job"):
        spec["parallelism"] = replicas
    elif (key.group, key.kind) in _REPLICATED_KINDS or "replicas" in spec:
        spec["replicas"] = replicas


def _map_subjects(doc: Manifest, key: ObjectKey, workspace: str) -> None:
    if key.group != _RBAC or key.kind not in ("RoleBinding", "ClusterRoleBinding"):
        return
    for subject in doc.get("subjects") or []:
        if isinstance(subject, dict) and subject.get("kind") == "ServiceAccount" and subject.get("namespace"):
            subject["namespace"] = downstream_namespace(workspace, str(subject["namespace"]))


def render(
    upstream: Mapping[str, Any],
    decision: Decision,
    cluster: Cluster | str,
    overrides: Sequence[Override] = (),
    *,
    workspace: str | None = None,
    namespace: Mapping[str, Any] | None = None,
) -> list[Manifest]:
    """The downstream manifests of ``upstream`` for ``cluster``, in dependency order.

    ``workspace`` defaults to the object's ``kcp.io/cluster`` annotation (empty on a plain hub);
    ``namespace`` is the upstream Namespace, whose labels then travel with it. Deterministic, and the
    inputs are never modified. Raises ``InvalidInput`` naming the object and the field for a malformed
    object, a cluster the decision does not place on, or an override that cannot apply.
    """
    if not isinstance(upstream, Mapping):
        raise InvalidInput(f"expected a manifest (a map), got {type(upstream).__name__}")
    obj = describe(upstream)
    key = key_of(upstream)
    name = cluster if isinstance(cluster, str) else cluster.name
    if name not in decision.replicas:
        raise InvalidInput(
            f"cluster {name!r} is not in the decision for {decision.workload}", obj=obj, path="cluster"
        )
    if workspace is None:
        annotations = metadata(upstream).get("annotations")
        found = annotations.get(KCP_CLUSTER_ANNOTATION) if isinstance(annotations, Mapping) else None
        workspace = found if isinstance(found, str) else ""

    if (key.group, key.kind) == ("", "Namespace"):
        if any(o.target.matches(cluster) for o in overrides):
            raise InvalidInput(
                "overrides do not apply to Namespaces (one Namespace is shared by every object in it)",
                obj=obj,
                path="overrides",
            )
        return [render_namespace(upstream, workspace=workspace)]

    doc = strip_server_fields(upstream)
    if _is_decision_workload(key, decision):
        _set_replicas(doc, key, decision.replicas[name])
    doc = apply_overrides(doc, overrides, cluster, obj=obj)
    try:
        changed = key_of(doc) != key
    except InvalidInput:
        changed = True
    if changed:
        raise InvalidInput(
            "overrides must not change apiVersion group, kind, namespace or name", obj=obj, path="overrides"
        )

    out: list[Manifest] = []
    if key.namespace:
        ns_source: Mapping[str, Any] | str = namespace if namespace is not None else key.namespace
        ns_doc = render_namespace(ns_source, workspace=workspace)
        if ns_doc["metadata"]["annotations"].get(NAMESPACE_ANNOTATION) != key.namespace:
            raise InvalidInput(
                f"namespace= is {describe(ns_source) if not isinstance(ns_source, str) else ns_source}, "
                f"not the object's namespace {key.namespace!r}",
                obj=obj,
                path="metadata.namespace",
            )
        out.append(ns_doc)
        doc["metadata"]["namespace"] = downstream_namespace(workspace, key.namespace)
    _map_subjects(doc, key, workspace)
    _merge_marks(doc, *ownership_marks(workspace, key, placement=decision.placement, cluster=name))
    generation = metadata(upstream).get("generation")
    if isinstance(generation, int) and not isinstance(generation, bool):
        doc["metadata"]["annotations"][GENERATION_ANNOTATION] = str(generation)
    out.append(stamp(doc))
    return out
