"""Workload manifests (Deployment, StatefulSet, ReplicaSet, any kind with replicas and a pod
template) -> ``Workload``: identity, replica count and the per-replica resource request.

The request is what the kube-scheduler would reserve for one pod: containers summed, init containers
taken at their maximum (sidecars, ``restartPolicy: Always``, counted as running alongside), pod
overhead added; a container's limit stands in for a missing request, as Kubernetes defaults it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tmc_core.errors import InvalidInput
from tmc_core.manifests._fields import (
    child,
    opt_int,
    opt_list,
    opt_mapping,
    opt_str,
    quantities,
    str_map,
)
from tmc_core.model.quantity import Quantity
from tmc_core.model.resources import ResourceList
from tmc_core.model.workload import Workload

__all__ = [
    "PRIORITY_ANNOTATION",
    "WORKSPACE_ANNOTATION",
    "is_workload",
    "pod_requests",
    "workload_from_manifest",
]

WORKSPACE_ANNOTATION = "kcp.io/cluster"
"""kcp's annotation naming the logical cluster (workspace) an object lives in."""

PRIORITY_ANNOTATION = "tmc.kcp.io/priority"
"""Placement priority of a workload whose pod template carries no integer ``priority``."""

_APPS_KINDS = frozenset({"Deployment", "StatefulSet", "ReplicaSet"})

Requests = dict[str, Quantity]


def is_workload(data: Mapping[str, Any]) -> bool:
    """apps/v1 Deployment/StatefulSet/ReplicaSet, or any object with ``spec.replicas`` and a pod
    template at ``spec.template.spec``."""
    if data.get("apiVersion") == "apps/v1" and data.get("kind") in _APPS_KINDS:
        return True
    spec = data.get("spec")
    if not isinstance(spec, Mapping) or "replicas" not in spec:
        return False
    template = spec.get("template")
    return isinstance(template, Mapping) and isinstance(template.get("spec"), Mapping)


def _add(total: Requests, more: Mapping[str, Quantity]) -> Requests:
    out = dict(total)
    for name, q in more.items():
        out[name] = out[name] + q if name in out else q
    return out


def _max(a: Mapping[str, Quantity], b: Mapping[str, Quantity]) -> Requests:
    out = dict(a)
    for name, q in b.items():
        if name not in out or q > out[name]:
            out[name] = q
    return out


def _container_requests(container: Any, path: str) -> Requests:
    """requests, with limits standing in for resources that have a limit but no request."""
    if not isinstance(container, Mapping):
        raise InvalidInput("expected a container (a mapping)", path=path)
    resources = opt_mapping(container, "resources", path)
    rpath = child(path, "resources")
    requests = quantities(resources, "requests", rpath)
    limits = quantities(resources, "limits", rpath)
    for name, q in limits.items():
        requests.setdefault(name, q)
    return requests


def pod_requests(pod_spec: Mapping[str, Any], path: str = "spec") -> ResourceList:
    """Kubernetes' effective request of one pod (``PodRequests`` in k8s component-helpers).

    max(sum(containers) + sum(sidecars), max over init containers of (its request + sidecars started
    before it)), plus ``overhead``. Without sidecars that is max(sum(containers), max(initContainers)).
    """
    total: Requests = {}
    for i, c in enumerate(opt_list(pod_spec, "containers", path)):
        total = _add(total, _container_requests(c, child(child(path, "containers"), i)))
    sidecars: Requests = {}
    init_peak: Requests = {}
    for i, c in enumerate(opt_list(pod_spec, "initContainers", path)):
        cpath = child(child(path, "initContainers"), i)
        req = _container_requests(c, cpath)
        restart = opt_str(c, "restartPolicy", cpath)
        if restart == "Always":
            total = _add(total, req)
            sidecars = _add(sidecars, req)
            during = dict(sidecars)
        else:
            during = _add(req, sidecars)
        init_peak = _max(init_peak, during)
    total = _max(total, init_peak)
    total = _add(total, quantities(pod_spec, "overhead", path))
    return ResourceList(total)


def _priority(pod_spec: Mapping[str, Any], annotations: Mapping[str, str], path: str) -> int:
    value = pod_spec.get("priority")
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raw = annotations.get(PRIORITY_ANNOTATION)
    if raw is None:
        return 0
    try:
        return int(raw.strip(), 10)
    except ValueError:
        raise InvalidInput(
            f"expected an integer, got {raw!r}",
            path=child("metadata.annotations", PRIORITY_ANNOTATION),
        ) from None


def workload_from_manifest(data: Mapping[str, Any]) -> Workload:
    """Read a workload manifest; raises ``InvalidInput`` with the field path of the first problem.

    ``replicas`` defaults to 1 as in Kubernetes; ``pods`` is not part of ``requests`` (placement counts
    pods itself); ``workspace`` is the ``kcp.io/cluster`` annotation; ``priority`` is the pod template's
    integer ``priority``, else the ``tmc.kcp.io/priority`` annotation, else 0.
    """
    api_version = opt_str(data, "apiVersion", "", required=True)
    kind = opt_str(data, "kind", "", required=True)
    meta = opt_mapping(data, "metadata", "")
    name = opt_str(meta, "name", "metadata", required=True)
    namespace = opt_str(meta, "namespace", "metadata")
    uid = opt_str(meta, "uid", "metadata")
    labels = str_map(meta, "labels", "metadata")
    annotations = str_map(meta, "annotations", "metadata")

    spec = opt_mapping(data, "spec", "")
    replicas = opt_int(spec, "replicas", "spec", default=1, minimum=0)
    template = opt_mapping(spec, "template", "spec")
    if "spec" not in template:
        raise InvalidInput("required field is missing (the pod template)", path="spec.template.spec")
    pod_spec = opt_mapping(template, "spec", "spec.template")
    requests = pod_requests(pod_spec, "spec.template.spec")
    return Workload(
        api_version=api_version,
        kind=kind,
        namespace=namespace,
        name=name,
        workspace=annotations.get(WORKSPACE_ANNOTATION, ""),
        uid=uid,
        replicas=replicas,
        requests=requests,
        labels=labels,
        priority=_priority(pod_spec, annotations, "spec.template.spec"),
    )
