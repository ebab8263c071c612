"""tmc's fleet, workloads and policies as the JSON document the Karmada peer program reads.

Clusters become Karmada ``Cluster`` objects (spec.provider/region/zones, labels, taints,
status.resourceSummary, apiEnablements), policies ``PropagationPolicy`` objects whose
``spec.placement`` says in Karmada's words what the tmc policy says, and each workload one
ResourceBinding's worth of fields (resource, replicas, replicaRequirements, previous clusters).
A policy that uses vocabulary Karmada lacks raises ``NotExpressible`` naming the field.
See docs/karmada-comparison.md for the mapping and the deliberate differences.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tmc_core.model import Cluster, Fleet, PlacementPolicy, Toleration, Workload
from tmc_core.model.policy import ClusterAffinity, SpreadConstraint
from tmc_core.model.resources import ResourceList
from tmc_core.placement import PlacementTask

__all__ = [
    "KARMADA_NOT_READY_TAINT",
    "NotExpressible",
    "cluster_object",
    "karmada_input",
    "placement_of",
    "propagation_policy",
    "workload_entry",
]

KARMADA_NOT_READY_TAINT = "cluster.karmada.io/not-ready"
"""The taint Karmada's cluster controller puts on a cluster whose Ready condition is not True."""
_TMC_NOT_READY = "tmc.kcp.io/not-ready"
_UNLIMITED_PODS = 1_000_000_000
"""Stands for tmc's "reports capacity but no pods: unlimited pod slots" (Karmada needs a number)."""


class NotExpressible(ValueError):
    """A tmc policy or value that Karmada's placement vocabulary cannot express."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


def _quantities(resources: ResourceList) -> dict[str, str]:
    return {name: str(q) for name, q in resources.items()}


def _api_enablements(kinds: Iterable[str]) -> list[dict[str, Any]]:
    """``group/version/Kind`` (or ``version/Kind``) strings grouped as Karmada's apiEnablements."""
    by_group_version: dict[str, list[str]] = {}
    for gvk in sorted(set(kinds)):
        group_version, _, kind = gvk.rpartition("/")
        by_group_version.setdefault(group_version, []).append(kind)
    return [
        {"groupVersion": gv, "resources": [{"name": k.lower() + "s", "kind": k} for k in ks]}
        for gv, ks in sorted(by_group_version.items())
    ]


def cluster_object(cluster: Cluster, served_kinds: Iterable[str]) -> dict[str, Any]:
    """One Karmada Cluster. ``served_kinds`` (``apps/v1/Deployment``, ...) stand in for a cluster
    whose ``apiResources`` is absent (tmc: serves everything); a cluster that lists its resources
    gets exactly those and the CompleteAPIEnablements condition, so that the rest are disabled."""
    taints = [{"key": t.key, "value": t.value, "effect": t.effect} for t in cluster.taints]
    if not cluster.ready:
        taints.append({"key": KARMADA_NOT_READY_TAINT, "effect": "NoSchedule"})
    for t in taints:
        if not t.get("value"):
            t.pop("value", None)
    conditions = [{"type": "Ready", "status": "True" if cluster.ready else "False"}]
    if cluster.api_resources is not None:
        kinds: Iterable[str] = cluster.api_resources
        conditions.append({"type": "CompleteAPIEnablements", "status": "True"})
    else:
        kinds = served_kinds
    status: dict[str, Any] = {"apiEnablements": _api_enablements(kinds), "conditions": conditions}
    if len(cluster.allocatable):
        allocatable = _quantities(cluster.allocatable)
        allocatable.setdefault("pods", str(_UNLIMITED_PODS))
        status["resourceSummary"] = {"allocatable": allocatable, "allocated": _quantities(cluster.allocated)}
    spec: dict[str, Any] = {"syncMode": "Push"}
    if cluster.provider:
        spec["provider"] = cluster.provider
    if cluster.region:
        spec["region"] = cluster.region
    if cluster.zone:
        spec["zones"] = [cluster.zone]
    if taints:
        spec["taints"] = taints
    metadata: dict[str, Any] = {"name": cluster.name}
    if cluster.labels:
        metadata["labels"] = dict(cluster.labels)
    return {
        "apiVersion": "cluster.karmada.io/v1alpha1",
        "kind": "Cluster",
        "metadata": metadata,
        "spec": spec,
        "status": status,
    }


def _affinity(affinity: ClusterAffinity, path: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if affinity.label_selector is not None:
        for i, req in enumerate(affinity.label_selector.match_expressions):
            if req.operator in ("Gt", "Lt"):
                raise NotExpressible(
                    f"{path}.labelSelector.matchExpressions[{i}].operator",
                    f"{req.operator} is not a label selector operator in Karmada (tmc extension)",
                )
        out["labelSelector"] = affinity.label_selector.dump()
    if affinity.field_selector is not None:
        out["fieldSelector"] = affinity.field_selector.dump()
    if affinity.cluster_names:
        out["clusterNames"] = list(affinity.cluster_names)
    if affinity.exclude:
        out["exclude"] = list(affinity.exclude)
    return out


def _toleration(t: Toleration) -> dict[str, Any]:
    key = KARMADA_NOT_READY_TAINT if t.key == _TMC_NOT_READY else t.key
    out: dict[str, Any] = {"operator": t.operator}
    if key:
        out["key"] = key
    if t.value:
        out["value"] = t.value
    if t.effect:
        out["effect"] = t.effect
    if t.toleration_seconds is not None:
        out["tolerationSeconds"] = t.toleration_seconds
    return out


def _spread(constraints: Sequence[SpreadConstraint], n_clusters: int) -> list[dict[str, Any]]:
    """Karmada's spreadConstraints; tmc's maxGroups 0 (no bound) becomes the fleet size."""
    keys = [sc.key for sc in constraints]
    for i, sc in enumerate(constraints):
        if sc.key not in ("cluster", "region"):
            raise NotExpressible(
                f"spreadConstraints[{i}]",
                f"Karmada's scheduler spreads by cluster and region only, not {sc.key}",
            )
    if "region" in keys and "cluster" not in keys:
        raise NotExpressible("spreadConstraints", "Karmada needs a cluster constraint next to region")
    return [
        {
            "spreadByField": sc.key,
            "minGroups": sc.effective_min,
            "maxGroups": sc.max_groups if sc.max_groups else max(1, n_clusters),
        }
        for sc in constraints
    ]


def placement_of(policy: PlacementPolicy, n_clusters: int) -> dict[str, Any]:
    """``spec.placement`` of a PropagationPolicy that means what ``policy`` means in tmc."""
    if policy.placement_type != "PickAll":
        raise NotExpressible("placementType", f"{policy.placement_type} has no Karmada counterpart")
    if policy.preferred_cluster_affinities:
        raise NotExpressible("preferredClusterAffinities", "Karmada has no soft cluster affinity")
    if policy.topology_spread_constraints:
        raise NotExpressible("topologySpreadConstraints", "Karmada has no maxSkew topology spread")
    only_steady = all(p.name == "Steady" and p.weight == 1 for p in policy.prioritizers)
    if not only_steady:
        raise NotExpressible(
            "prioritizers", "Karmada scores by ClusterLocality only (tmc's default Steady with weight 1)"
        )
    placement: dict[str, Any] = {}
    if policy.cluster_affinity is not None:
        placement["clusterAffinity"] = _affinity(policy.cluster_affinity, "clusterAffinity")
    if policy.cluster_affinities:
        placement["clusterAffinities"] = [
            {"affinityName": t.affinity_name, **_affinity(t, f"clusterAffinities[{i}]")}
            for i, t in enumerate(policy.cluster_affinities)
        ]
    if policy.cluster_tolerations:
        placement["clusterTolerations"] = [_toleration(t) for t in policy.cluster_tolerations]
    if policy.spread_constraints:
        placement["spreadConstraints"] = _spread(policy.spread_constraints, n_clusters)
    rs = policy.replica_scheduling
    if rs is None or rs.replica_scheduling_type == "Duplicated":
        placement["replicaScheduling"] = {"replicaSchedulingType": "Duplicated"}
    else:
        scheduling: dict[str, Any] = {
            "replicaSchedulingType": "Divided",
            "replicaDivisionPreference": rs.replica_division_preference,
        }
        wp = rs.weight_preference
        if wp is not None:
            pref: dict[str, Any] = {}
            if wp.static_weight_list:
                pref["staticWeightList"] = [
                    {
                        "targetCluster": _affinity(w.target_cluster, f"staticWeightList[{i}].targetCluster"),
                        "weight": w.weight,
                    }
                    for i, w in enumerate(wp.static_weight_list)
                ]
            if wp.dynamic_weight:
                pref["dynamicWeight"] = wp.dynamic_weight
            scheduling["weightPreference"] = pref
        placement["replicaScheduling"] = scheduling
    return placement


def propagation_policy(name: str, policy: PlacementPolicy, n_clusters: int) -> dict[str, Any]:
    """A PropagationPolicy named ``name`` carrying ``placement_of(policy)``."""
    return {
        "apiVersion": "policy.karmada.io/v1alpha1",
        "kind": "PropagationPolicy",
        "metadata": {"name": name},
        "spec": {"resourceSelectors": [], "placement": placement_of(policy, n_clusters)},
    }


def _replica_requirements(requests: ResourceList) -> dict[str, Any] | None:
    wanted = {name: str(q) for name, q in requests.items() if q.milli_value() > 0}
    return {"resourceRequest": wanted} if wanted else None


def workload_entry(workload: Workload, policy_name: str, current: Mapping[str, int]) -> dict[str, Any]:
    """The ResourceBinding fields of one workload; ``current`` becomes ``spec.clusters``."""
    resource: dict[str, Any] = {
        "apiVersion": workload.api_version,
        "kind": workload.kind,
        "name": workload.name,
    }
    if workload.namespace:
        resource["namespace"] = workload.namespace
    if workload.uid:
        resource["uid"] = workload.uid
    entry: dict[str, Any] = {"resource": resource, "replicas": workload.replicas, "policy": policy_name}
    requirements = _replica_requirements(workload.requests)
    if requirements is not None:
        entry["replicaRequirements"] = requirements
    previous = [{"name": c, "replicas": n} for c, n in sorted(current.items()) if n > 0]
    if previous:
        entry["clusters"] = previous
    return entry


def karmada_input(fleet: Fleet | Sequence[Cluster], tasks: Sequence[PlacementTask]) -> dict[str, Any]:
    """The whole peer input: every cluster, one PropagationPolicy per distinct policy, one entry
    per task (in task order). Raises ``NotExpressible`` (path prefixed with the task) when a task's
    policy has no Karmada counterpart."""
    clusters = list(fleet)
    kinds = {f"{t.workload.api_version}/{t.workload.kind}" for t in tasks}
    names: dict[int, str] = {}
    policies: list[dict[str, Any]] = []
    by_fingerprint: dict[str, str] = {}
    entries = []
    for i, task in enumerate(tasks):
        name = names.get(id(task.policy))
        if name is None:
            fingerprint = task.policy.fingerprint()
            name = by_fingerprint.get(fingerprint)
            if name is None:
                name = f"policy-{len(policies)}"
                try:
                    policies.append(propagation_policy(name, task.policy, len(clusters)))
                except NotExpressible as err:
                    raise NotExpressible(
                        f"tasks[{i}] ({task.workload.key}): spec.placement.{err.path}", err.problem
                    ) from None
                by_fingerprint[fingerprint] = name
            names[id(task.policy)] = name
        entries.append(workload_entry(task.workload, name, task.current))
    return {
        "clusters": [cluster_object(c, kinds) for c in clusters],
        "policies": policies,
        "workloads": entries,
    }
