"""Builders shared by the placement worked examples (``test_placement_*.py``); no tests live here.

Everything is built from manifests-shaped camelCase dictionaries through ``model_validate``, the
way users write policies, and placed through the public entry points ``place`` / ``place_batch``.
Capacities are chosen so that the free room of a cluster, in replicas, is obvious from its
arguments: ``cluster("m1", cpu=6)`` with a workload requesting one CPU has room for 6 replicas.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tmc_core.model import Cluster, Decision, PlacementPolicy, Workload
from tmc_core.placement.batch import place

__all__ = [
    "AGGREGATED",
    "DUPLICATED",
    "DYNAMIC",
    "STATIC_EQUAL",
    "cluster",
    "placed",
    "policy",
    "static",
    "workload",
]

DUPLICATED: dict[str, Any] = {"replicaSchedulingType": "Duplicated"}
DYNAMIC: dict[str, Any] = {
    "replicaSchedulingType": "Divided",
    "replicaDivisionPreference": "Weighted",
    "weightPreference": {"dynamicWeight": "AvailableReplicas"},
}
AGGREGATED: dict[str, Any] = {"replicaSchedulingType": "Divided", "replicaDivisionPreference": "Aggregated"}
STATIC_EQUAL: dict[str, Any] = {"replicaSchedulingType": "Divided", "replicaDivisionPreference": "Weighted"}


def static(*rules: tuple[Mapping[str, Any], int]) -> dict[str, Any]:
    """Divided/Weighted with a staticWeightList of ``(targetCluster, weight)`` rules."""
    return {
        "replicaSchedulingType": "Divided",
        "replicaDivisionPreference": "Weighted",
        "weightPreference": {"staticWeightList": [{"targetCluster": dict(t), "weight": w} for t, w in rules]},
    }


def cluster(
    name: str,
    cpu: float = 100,
    used: float = 0,
    *,
    labels: Mapping[str, str] | None = None,
    **spec: Any,
) -> Cluster:
    """A cluster with ``cpu`` allocatable and ``used`` allocated CPUs (ample memory, no pod limit)."""
    data: dict[str, Any] = {
        "name": name,
        "allocatable": {"cpu": str(cpu), "memory": "1Ti"},
        "allocated": {"cpu": str(used)},
    }
    if labels:
        data["labels"] = dict(labels)
    data.update(spec)
    return Cluster.model_validate(data)


def workload(replicas: int = 1, cpu: str = "1", *, name: str = "web", **spec: Any) -> Workload:
    """A Deployment ``shop/<name>`` asking ``cpu`` per replica."""
    data: dict[str, Any] = {
        "name": name,
        "namespace": spec.pop("namespace", "shop"),
        "replicas": replicas,
        "requests": {"cpu": cpu},
    }
    data.update(spec)
    return Workload.model_validate(data)


def policy(**spec: Any) -> PlacementPolicy:
    """A PlacementPolicy from camelCase keyword arguments (``replicaScheduling=DYNAMIC``...)."""
    return PlacementPolicy.model_validate(spec)


def placed(
    clusters: list[Cluster],
    w: Workload,
    p: PlacementPolicy,
    current: Mapping[str, int] | None = None,
) -> Decision:
    """``place`` with an explanation, checked against the same call without one.

    Asking for an explanation must not change where replicas go: the engine skips scoring when
    nothing reads the order, so both paths run for every example.
    """
    explained = place(clusters, w, p, current=current, explain=True)
    plain = place(clusters, w, p, current=current)
    assert (plain.replicas, plain.schedulable) == (explained.replicas, explained.schedulable)
    assert explained.explanation is not None
    return explained
