"""The simulated fleet as it is at one moment: cluster statuses and capacity, workloads and where
their replicas run, and the fleet the control plane sees (what the placement engine is given).

Mutable, but private to one run: ``engine.simulate`` creates it, changes it event by event, and
hands out only the recorded trace.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from tmc_core.model.cluster import Cluster, Fleet
from tmc_core.model.policy import PlacementPolicy
from tmc_core.model.resources import ResourceList
from tmc_core.placement.index import PODS, to_units
from tmc_core.placement.task import PlacementTask
from tmc_core.simulate.events import Target
from tmc_core.simulate.trace import VISIBLE, ClusterInfo, ClusterStatus, WorkloadInfo

__all__ = ["FleetState", "LiveCluster", "LiveWorkload", "cluster_info", "request_units"]


def _units(resources: ResourceList) -> dict[str, int]:
    return {r: to_units(r, resources[r]) for r in resources}


def _quantity(resource: str, units: int) -> str:
    return f"{units}m" if resource == "cpu" else str(units)


def request_units(requests: ResourceList) -> dict[str, int]:
    """Per-replica requests in placement units, with the one pod every replica takes."""
    out = _units(requests)
    out[PODS] = 1
    return out


def cluster_info(cluster: Cluster, running: Mapping[str, int] | None = None) -> ClusterInfo:
    """A cluster's fixed facts; ``running`` (units used by replicas the simulation places there at the
    start) is taken out of ``allocated`` so that only the background remains."""
    background = _units(cluster.allocated)
    for r, u in (running or {}).items():
        if r in background:
            background[r] = max(0, background[r] - u)
    return ClusterInfo(
        name=cluster.name,
        provider=cluster.provider,
        region=cluster.region,
        zone=cluster.zone,
        labels=dict(cluster.labels),
        cost=float(cluster.properties.get("cost", 0.0)),
        allocatable=_units(cluster.allocatable),
        background=background,
    )


@dataclass(slots=True)
class LiveCluster:
    """A cluster in the run: its manifest, fixed facts, status, capacity factor and when it went quiet."""

    cluster: Cluster
    info: ClusterInfo
    status: ClusterStatus = "up"
    capacity: float = 1.0
    quiet_since: float | None = None

    def allocatable(self) -> dict[str, int]:
        """Allocatable units after capacity changes."""
        return {r: int(u * self.capacity) for r, u in self.info.allocatable.items()}


@dataclass(slots=True)
class LiveWorkload:
    """A workload in the run: its task (current replica count and effective policy) and assignment."""

    task: PlacementTask
    info: WorkloadInfo
    assignment: dict[str, int] = field(default_factory=dict)
    schedulable: bool = True
    reason: str = ""

    @property
    def replicas(self) -> int:
        """Replicas requested now."""
        return self.task.workload.replicas


@dataclass(slots=True)
class FleetState:
    """Clusters (in joining order) and workloads (by key) of one run."""

    clusters: dict[str, LiveCluster] = field(default_factory=dict)
    workloads: dict[str, LiveWorkload] = field(default_factory=dict)

    # -- what the control plane sees ---------------------------------------------------------

    def used(self) -> dict[str, dict[str, int]]:
        """Units used by the simulated replicas, per cluster and resource."""
        out: dict[str, dict[str, int]] = {}
        for w in self.workloads.values():
            for c, n in w.assignment.items():
                per = out.setdefault(c, {})
                for r, u in w.info.requests.items():
                    per[r] = per.get(r, 0) + n * u
        return out

    def visible_fleet(self) -> Fleet:
        """The clusters the control plane still places on, with ``allocated`` = background plus the
        simulated replicas (as the manifest contract says) and allocatable after capacity changes."""
        used = self.used()
        out = []
        for lc in self.clusters.values():
            if lc.status not in VISIBLE:
                continue
            alloc = lc.allocatable()
            mine = used.get(lc.info.name, {})
            allocated = {
                r: _quantity(r, lc.info.background.get(r, 0) + mine.get(r, 0))
                for r in alloc
                if r in lc.info.background or r in mine
            }
            out.append(
                lc.cluster.model_copy(
                    update={
                        "allocatable": ResourceList({r: _quantity(r, u) for r, u in alloc.items()}),
                        "allocated": ResourceList(allocated),
                    }
                )
            )
        return Fleet(clusters=tuple(out))

    def tasks(self) -> list[PlacementTask]:
        """One task per live workload, ``current`` = its assignment on visible clusters."""
        visible = {n for n, lc in self.clusters.items() if lc.status in VISIBLE}
        out = []
        for w in self.workloads.values():
            current = {c: n for c, n in w.assignment.items() if c in visible and n > 0}
            out.append(
                PlacementTask(w.task.workload, w.task.policy, placement=w.task.placement, current=current)
            )
        return out

    # -- events --------------------------------------------------------------------------------

    def targets(self, target: Target, candidates: Iterable[str], rng: np.random.Generator) -> list[str]:
        """The candidate clusters a target picks (see ``Target``), sorted by name."""
        pool = sorted(candidates)
        infos = [self.clusters[n].info for n in pool]
        if target.clusters:
            wanted = set(target.clusters)
            infos = [i for i in infos if i.name in wanted]
        for key, value in (("provider", target.provider), ("region", target.region), ("zone", target.zone)):
            if value:
                infos = [i for i in infos if i.group(key) == value]
        if target.largest:
            sizes: dict[str, int] = {}
            for i in infos:
                g = i.group(target.largest)
                if g:
                    sizes[g] = sizes.get(g, 0) + 1
            if sizes:
                best = min(sizes, key=lambda g: (-sizes[g], g))
                infos = [i for i in infos if i.group(target.largest) == best]
            else:
                infos = []
        names = [i.name for i in infos]
        if target.count and len(names) > target.count:
            keep = rng.choice(len(names), size=target.count, replace=False)
            names = [names[int(k)] for k in sorted(keep.tolist())]
        return names

    def evict_all(self, cluster: str) -> int:
        """Take every replica off a cluster (they become pending); how many were taken."""
        taken = 0
        for w in self.workloads.values():
            taken += w.assignment.pop(cluster, 0)
        return taken

    def evict_overflow(self, cluster: str) -> int:
        """Evict replicas from a cluster until what the simulation placed fits its capacity again:
        lowest priority first, then by key from the end; Duplicated copies go whole."""
        lc = self.clusters[cluster]
        alloc = lc.allocatable()
        used = self.used().get(cluster, {})
        over = {
            r: lc.info.background.get(r, 0) + used.get(r, 0) - alloc[r] for r in alloc if used.get(r, 0) > 0
        }
        taken = 0
        order = sorted(
            (w for w in self.workloads.values() if w.assignment.get(cluster, 0) > 0),
            key=lambda w: (w.info.priority, _reverse(w.info.key)),
        )
        for w in order:
            if all(v <= 0 for v in over.values()):
                break
            held = w.assignment[cluster]
            need = 0
            for r, v in over.items():
                per = w.info.requests.get(r, 0)
                if v > 0 and per > 0:
                    need = max(need, -(-v // per))
            if need == 0:
                continue
            k = held if _duplicated(w.task.policy) else min(held, need)
            for r in over:
                over[r] -= k * w.info.requests.get(r, 0)
            if k == held:
                del w.assignment[cluster]
            else:
                w.assignment[cluster] = held - k
            taken += k
        return taken


def _duplicated(policy: PlacementPolicy) -> bool:
    return policy.replica_strategy == "Duplicated"


def _reverse(key: str) -> tuple[int, ...]:
    """A sort key that orders strings descending."""
    return (*(-ord(ch) for ch in key), 1)
