"""Capacity discovery: a member cluster's Nodes and Pods -> the tmc_core ``Cluster`` model.

Pure rules (:func:`cluster_capacity`), and a thin shell (:func:`discover_cluster`) that lists
Nodes and Pods through the client port and probes ``/readyz``.

* **allocatable** sums ``status.allocatable`` of the Nodes that count: Ready (condition
  ``Ready=True``), not cordoned (``spec.unschedulable``) and without a ``NoSchedule`` or
  ``NoExecute`` taint that ``tolerations`` do not tolerate. Control-plane nodes (tainted
  NoSchedule) therefore do not count by default; pass tolerations for taints your workloads carry.
* **allocated** sums the effective requests of the Pods bound to a counted Node (``spec.nodeName``)
  and not terminal (phase not Succeeded/Failed), by the scheduler's rule: max(sum of containers
  and sidecars, each init container with the sidecars started before it), plus pod overhead
  (``tmc_core.manifests.pod_requests``). ``pods`` is the count of those Pods. Pods on Nodes that
  do not count are left out on both sides, so free = allocatable - allocated stays per usable node.
* **conditions**: ``Ready`` from the API server's ``/readyz``, with ``now`` as heartbeat.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from tmc_core.errors import InvalidInput
from tmc_core.manifests import pod_requests
from tmc_core.model import Cluster, Condition, Quantity, ResourceList, Taint, Toleration
from tmc_kube.port import KubePort

__all__ = ["TERMINAL_PHASES", "cluster_capacity", "discover_cluster", "node_counts", "pod_counts"]

TERMINAL_PHASES = frozenset({"Succeeded", "Failed"})
_BLOCKING = ("NoSchedule", "NoExecute")


def _node_name(node: Mapping[str, Any]) -> str:
    return str((node.get("metadata") or {}).get("name") or "")


def node_counts(node: Mapping[str, Any], tolerations: Iterable[Toleration] = ()) -> bool:
    """Whether a Node's capacity counts: Ready, not cordoned, no untolerated NoSchedule/NoExecute taint."""
    spec = node.get("spec") or {}
    if spec.get("unschedulable"):
        return False
    conditions = (node.get("status") or {}).get("conditions") or []
    if not any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions):
        return False
    tolerations = tuple(tolerations)
    for raw in spec.get("taints") or []:
        if raw.get("effect") not in _BLOCKING:
            continue
        taint = Taint(key=raw.get("key") or "", value=raw.get("value") or "", effect=raw["effect"])
        if not any(t.tolerates(taint) for t in tolerations):
            return False
    return True


def pod_counts(pod: Mapping[str, Any], nodes: Iterable[str]) -> bool:
    """Whether a Pod's requests count as allocated: bound to one of ``nodes``, not terminal."""
    node = (pod.get("spec") or {}).get("nodeName")
    phase = (pod.get("status") or {}).get("phase")
    return bool(node) and node in set(nodes) and phase not in TERMINAL_PHASES


def cluster_capacity(
    name: str,
    nodes: Iterable[Mapping[str, Any]],
    pods: Iterable[Mapping[str, Any]],
    *,
    tolerations: Iterable[Toleration] = (),
    base: Cluster | None = None,
    conditions: Iterable[Condition] | None = None,
) -> Cluster:
    """The ``Cluster`` ``name`` (or ``base`` with new capacity) from Node and Pod objects.

    Raises ``InvalidInput`` naming the Node or Pod and the field for an unparsable quantity.
    """
    tolerations = tuple(tolerations)
    allocatable = ResourceList.empty()
    counted: set[str] = set()
    for node in nodes:
        if not node_counts(node, tolerations):
            continue
        counted.add(_node_name(node))
        try:
            allocatable = allocatable + ResourceList((node.get("status") or {}).get("allocatable") or {})
        except InvalidInput as err:
            raise err.within(path="status.allocatable", obj=f"Node {_node_name(node)}") from None
    allocated = ResourceList.empty()
    n_pods = 0
    for pod in pods:
        if not pod_counts(pod, counted):
            continue
        meta = pod.get("metadata") or {}
        try:
            allocated = allocated + pod_requests(pod.get("spec") or {})
        except InvalidInput as err:
            raise err.within(obj=f"Pod {meta.get('namespace', '')}/{meta.get('name', '?')}") from None
        n_pods += 1
    allocated = allocated + ResourceList({"pods": Quantity(n_pods)})
    if base is None:
        base = Cluster(name=name)
    update: dict[str, Any] = {"allocatable": allocatable, "allocated": allocated}
    if conditions is not None:
        update["conditions"] = tuple(conditions)
    return base.model_copy(update=update)


def discover_cluster(
    port: KubePort,
    name: str,
    *,
    now: datetime,
    readyz: Callable[[], tuple[bool, str]] | None = None,
    tolerations: Iterable[Toleration] = (),
    base: Cluster | None = None,
) -> Cluster:
    """List Nodes and non-terminal Pods through ``port``, probe readiness, build the Cluster.

    ``readyz`` defaults to ``port.readyz`` when the port has one; ``now`` is the heartbeat time.
    """
    probe = readyz or getattr(port, "readyz", None)
    ready, why = probe() if probe is not None else (True, "no probe")
    condition = Condition(
        type="Ready",
        status="True" if ready else "False",
        reason="APIServerReady" if ready else "APIServerNotReady",
        message=why,
        last_heartbeat_time=now,
    )
    nodes = port.list("v1", "Node").items
    pods = port.list("v1", "Pod", field_selector="status.phase!=Succeeded,status.phase!=Failed").items
    others = tuple(c for c in (base.conditions if base else ()) if c.type != "Ready")
    return cluster_capacity(
        name, nodes, pods, tolerations=tolerations, base=base, conditions=(*others, condition)
    )
