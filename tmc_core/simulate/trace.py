"""What a simulation run recorded: every cluster and workload change and every placement decision.

The trace is the single source of truth of a run: metrics are computed from it (``metrics.py``), and
anyone can recompute them. Records carry a global sequence number ``seq``; replaying them in ``seq``
order reproduces the state the simulator was in at any moment. ``*_records()`` give plain lists of
dicts (pandas-friendly: ``pandas.DataFrame(trace.decision_records())``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np
from numpy.typing import NDArray

from tmc_core.model.policy import PlacementPolicy
from tmc_core.simulate.scenario import Scenario

__all__ = [
    "SERVING",
    "VISIBLE",
    "ClusterChange",
    "ClusterInfo",
    "ClusterStatus",
    "DecisionRecord",
    "EventRecord",
    "Trace",
    "WorkloadChange",
    "WorkloadInfo",
    "moved_replicas",
    "wanted_replicas",
]

ClusterStatus = Literal["up", "failed", "silent", "down", "drained"]
"""``up``: Ready; ``failed``: down, not yet noticed; ``silent``: heartbeats stopped but still running,
not yet noticed; ``down``: noticed NotReady (after the grace period); ``drained``: cordoned."""

VISIBLE: Final[frozenset[ClusterStatus]] = frozenset({"up", "failed", "silent"})
"""Statuses the control plane still places on (it has not noticed anything wrong)."""
SERVING: Final[frozenset[ClusterStatus]] = frozenset({"up", "silent", "drained"})
"""Statuses whose replicas actually run."""


@dataclass(frozen=True, slots=True)
class ClusterInfo:
    """A cluster's fixed facts: topology, labels, cost per core-hour, capacity in placement units
    (millicores for cpu, base units otherwise) and the background use outside the simulation."""

    name: str
    provider: str
    region: str
    zone: str
    labels: Mapping[str, str]
    cost: float
    allocatable: Mapping[str, int]
    background: Mapping[str, int]

    def group(self, key: str) -> str:
        """The cluster's group for a spread key (``cluster``, ``region``, ..., ``label:<key>``)."""
        if key == "cluster":
            return self.name
        if key.startswith("label:"):
            return self.labels.get(key[len("label:") :], "")
        return {"provider": self.provider, "region": self.region, "zone": self.zone}.get(key, "")


@dataclass(frozen=True, slots=True)
class WorkloadInfo:
    """A workload's fixed facts: per-replica requests in placement units (one pod included), the
    policy it is placed with, and its priority."""

    key: str
    requests: Mapping[str, int]
    policy: PlacementPolicy
    priority: int


@dataclass(frozen=True, slots=True)
class ClusterChange:
    """A cluster joined or changed status or capacity (``capacity`` multiplies its allocatable)."""

    seq: int
    time: float
    cluster: str
    status: ClusterStatus
    capacity: float


@dataclass(frozen=True, slots=True)
class WorkloadChange:
    """A workload arrived, was scaled (``replicas`` is the new count) or left (``replicas`` 0)."""

    seq: int
    time: float
    workload: str
    replicas: int


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    """A workload's assignment changed (or its schedulability did): before and after, and why."""

    seq: int
    time: float
    workload: str
    before: Mapping[str, int]
    after: Mapping[str, int]
    replicas: int
    schedulable: bool
    reason: str
    cause: str

    @property
    def moved(self) -> int:
        """Replicas that left one cluster for another (see ``moved_replicas``)."""
        return moved_replicas(self.before, self.after)


@dataclass(frozen=True, slots=True)
class EventRecord:
    """An event as it happened: its kind, the clusters it hit, and ``affected``: the workloads it
    added, scaled or removed, or the replicas it evicted (which depends on the policy)."""

    seq: int
    time: float
    event: str
    clusters: tuple[str, ...]
    affected: int


def moved_replicas(before: Mapping[str, int], after: Mapping[str, int]) -> int:
    """Replicas moved between clusters: min(replicas removed somewhere, replicas added elsewhere), so
    scaling up or down alone moves nothing and a failover of three replicas moves three."""
    removed = sum(max(0, n - after.get(c, 0)) for c, n in before.items())
    added = sum(max(0, n - before.get(c, 0)) for c, n in after.items())
    return min(removed, added)


def wanted_replicas(policy: PlacementPolicy, replicas: int, held: Mapping[str, int]) -> int:
    """Replicas a workload asks for in total: ``replicas`` when Divided; a full copy per cluster
    when Duplicated (PickN: ``numberOfClusters`` copies; PickFixed: one per named cluster; PickAll:
    one per cluster it holds, at least one)."""
    if policy.replica_strategy != "Duplicated":
        return replicas
    if policy.placement_type == "PickN":
        copies = policy.number_of_clusters or 0
    elif policy.placement_type == "PickFixed":
        copies = len(policy.cluster_names)
    else:
        copies = max(1, sum(1 for n in held.values() if n > 0))
    return replicas * copies


@dataclass(frozen=True, slots=True, eq=False)
class Trace:
    """Everything one run recorded, in ``seq`` order within each kind of record."""

    scenario: Scenario
    policy: str
    solver: str
    clusters: Mapping[str, ClusterInfo]
    workloads: Mapping[str, WorkloadInfo]
    cluster_changes: tuple[ClusterChange, ...]
    workload_changes: tuple[WorkloadChange, ...]
    decisions: tuple[DecisionRecord, ...]
    events: tuple[EventRecord, ...]
    sample_times: NDArray[np.float64]

    def decision_records(self) -> list[dict[str, Any]]:
        """One dict per decision: time, workload, before, after, replicas, moved, schedulable, ..."""
        return [
            {
                "time": d.time,
                "workload": d.workload,
                "before": dict(d.before),
                "after": dict(d.after),
                "replicas": d.replicas,
                "moved": d.moved,
                "schedulable": d.schedulable,
                "reason": d.reason,
                "cause": d.cause,
            }
            for d in self.decisions
        ]

    def event_records(self) -> list[dict[str, Any]]:
        """One dict per event: time, event kind, clusters hit, workloads or replicas affected."""
        return [
            {"time": e.time, "event": e.event, "clusters": list(e.clusters), "affected": e.affected}
            for e in self.events
        ]

    def cluster_records(self) -> list[dict[str, Any]]:
        """One dict per cluster change: time, cluster, status, capacity factor."""
        return [
            {"time": c.time, "cluster": c.cluster, "status": c.status, "capacity": c.capacity}
            for c in self.cluster_changes
        ]
