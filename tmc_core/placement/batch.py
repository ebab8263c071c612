"""Place many workloads against shared capacity: the entry points the CLI, controller and simulator call.

Reference semantics are sequential: workloads go in order of priority (high first), then
namespace/name, and each decision sees the capacity the previous ones consumed. Nothing here keeps
state between calls: the capacity snapshot is copied from the index at the start of every call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from tmc_core.errors import InvalidInput
from tmc_core.model.cluster import Cluster, Fleet
from tmc_core.model.decision import Decision, Explanation, TargetCluster
from tmc_core.model.policy import PlacementPolicy
from tmc_core.model.workload import Workload
from tmc_core.placement import kernels
from tmc_core.placement.index import FleetIndex, replicas_vector, resource_vector
from tmc_core.placement.pipeline import Outcome, PolicyCache, place_workload
from tmc_core.placement.registry import DEFAULT_REGISTRY, Registry
from tmc_core.placement.single import batchable, place_group, place_sequential_run, single_shape
from tmc_core.placement.task import PlacementTask

__all__ = ["Assignment", "PlacementTask", "assign_batch", "place", "place_batch", "placement_order"]

IntArray = NDArray[np.int64]


def placement_order(tasks: Sequence[PlacementTask]) -> list[int]:
    """Positions of ``tasks`` in placement order: priority desc, then namespace, name, kind,
    apiVersion and workspace, so the order never depends on how the tasks were listed."""
    return sorted(
        range(len(tasks)),
        key=lambda k: (
            -tasks[k].workload.priority,
            tasks[k].workload.namespace,
            tasks[k].workload.name,
            tasks[k].workload.kind,
            tasks[k].workload.api_version,
            tasks[k].workload.workspace,
        ),
    )


def _index_for(fleet: FleetIndex | Fleet | Sequence[Cluster], tasks: Sequence[PlacementTask]) -> FleetIndex:
    asked = {r for t in tasks for r in t.workload.requests}
    if isinstance(fleet, FleetIndex):
        if asked <= set(fleet.resources):
            return fleet
        fleet = fleet.fleet
    return FleetIndex.from_fleet(fleet, extra_resources=asked)


@dataclass(frozen=True, slots=True, eq=False)
class Assignment:
    """The engine's raw result, as arrays in task order: which clusters run how many replicas.

    Task ``i`` runs ``replicas[offsets[i]:offsets[i+1]]`` on fleet indices
    ``clusters[offsets[i]:offsets[i+1]]`` (sorted by cluster name; Divided lists only clusters with
    replicas, Duplicated every selected cluster). ``decisions(tasks)`` turns it into ``Decision`` values.
    """

    cluster_names: tuple[str, ...]
    offsets: IntArray
    clusters: IntArray
    replicas: IntArray
    schedulable: NDArray[np.bool_]
    reasons: tuple[str, ...]
    explanations: tuple[Explanation | None, ...]

    def __len__(self) -> int:
        return len(self.reasons)

    def replicas_of(self, i: int) -> dict[str, int]:
        """Cluster name -> replicas of task ``i``."""
        lo, hi = int(self.offsets[i]), int(self.offsets[i + 1])
        names = self.cluster_names
        return {
            names[c]: int(r)
            for c, r in zip(self.clusters[lo:hi].tolist(), self.replicas[lo:hi].tolist(), strict=True)
        }

    def decisions(self, tasks: Sequence[PlacementTask]) -> tuple[Decision, ...]:
        """One ``Decision`` per task (the same order)."""
        names = self.cluster_names
        clusters = self.clusters.tolist()
        replicas = self.replicas.tolist()
        offsets = self.offsets.tolist()
        out = []
        for i, task in enumerate(tasks):
            targets = tuple(
                TargetCluster.trusted(name=names[clusters[j]], replicas=replicas[j])
                for j in range(offsets[i], offsets[i + 1])
            )
            out.append(
                Decision.trusted(
                    workload=task.workload.ref,
                    placement=task.placement,
                    clusters=targets,
                    schedulable=bool(self.schedulable[i]),
                    reason=self.reasons[i],
                    explanation=self.explanations[i],
                )
            )
        return tuple(out)


def _assignment(index: FleetIndex, tasks: Sequence[PlacementTask], outcomes: Sequence[Outcome]) -> Assignment:
    """Pack per-task outcomes into name-sorted CSR arrays."""
    parts_c: list[IntArray] = []
    parts_r: list[IntArray] = []
    offsets = np.zeros(len(outcomes) + 1, dtype=np.int64)
    for i, (task, o) in enumerate(zip(tasks, outcomes, strict=True)):
        c, r = o.clusters, o.replicas
        if c.size > 1:
            if task.policy.replica_strategy != "Duplicated":
                keep = r > 0
                c, r = c[keep], r[keep]
            order = np.argsort(index.name_rank[c], kind="stable")
            c, r = c[order], r[order]
        elif c.size == 1 and r[0] == 0 and task.policy.replica_strategy != "Duplicated":
            c, r = c[:0], r[:0]
        parts_c.append(c)
        parts_r.append(r)
        offsets[i + 1] = offsets[i] + c.size
    empty = np.zeros(0, dtype=np.int64)
    return Assignment(
        cluster_names=index.names,
        offsets=offsets,
        clusters=np.concatenate(parts_c) if parts_c else empty,
        replicas=np.concatenate(parts_r) if parts_r else empty,
        schedulable=np.array([o.schedulable for o in outcomes], dtype=np.bool_),
        reasons=tuple(o.reason for o in outcomes),
        explanations=tuple(o.explanation for o in outcomes),
    )


def place_batch(
    fleet: FleetIndex | Fleet | Sequence[Cluster],
    tasks: Sequence[PlacementTask],
    *,
    explain: bool = False,
    registry: Registry = DEFAULT_REGISTRY,
    mode: Literal["sequential", "batched", "independent"] = "sequential",
    batch_size: int = 256,
) -> tuple[Decision, ...]:
    """Decide every task against shared capacity; decisions come back in task order.

    ``assign_batch`` with the same arguments gives the same result as arrays.
    """
    assignment = assign_batch(
        fleet, tasks, explain=explain, registry=registry, mode=mode, batch_size=batch_size
    )
    return assignment.decisions(tasks)


def assign_batch(
    fleet: FleetIndex | Fleet | Sequence[Cluster],
    tasks: Sequence[PlacementTask],
    *,
    explain: bool = False,
    registry: Registry = DEFAULT_REGISTRY,
    mode: Literal["sequential", "batched", "independent"] = "sequential",
    batch_size: int = 256,
) -> Assignment:
    """Decide every task against shared capacity; the result as arrays, in task order.

    ``sequential`` (the reference semantics): each decision sees what the previous ones consumed,
    releasing the replicas a workload leaves and consuming what it newly runs. ``batched``: runs of
    single-cluster workloads (see ``tmc_core.placement.single``) are scored ``batch_size`` at a time
    against one snapshot with exact conflict resolution; every other workload, and every workload
    when ``explain`` is set or a custom ``registry`` is given, goes the sequential way. Capacity is
    never exceeded in either mode. ``independent``: every task is decided alone against the fleet's
    capacity as given, as Karmada schedules each binding against the same snapshot; nothing is
    consumed between tasks, so together the decisions may overcommit (a what-if per workload).
    """
    if mode not in ("sequential", "batched", "independent"):
        raise InvalidInput(f"unknown mode {mode!r}: expected sequential, batched or independent", path="mode")
    if batch_size < 1:
        raise InvalidInput(f"must be at least 1, got {batch_size}", path="batch_size")
    index = _index_for(fleet, tasks)
    free = index.free.copy()
    placed = np.zeros(index.size, dtype=np.int64)
    cache = PolicyCache()
    out: list[Outcome | None] = [None] * len(tasks)
    plain = not explain and registry is DEFAULT_REGISTRY
    use_batches = mode == "batched" and plain
    use_kernel = mode == "sequential" and plain and kernels.AVAILABLE
    group: list[int] = []

    def flush() -> None:
        if not group:
            return
        members = [tasks[k] for k in group]
        requests = [resource_vector(t.workload.requests, index.resources) for t in members]
        if use_batches:
            outcomes = place_group(index, members, requests, free, placed, cache, batch_size)
        else:
            outcomes = place_sequential_run(index, members, requests, free, placed, cache)
        for k, outcome in zip(group, outcomes, strict=True):
            out[k] = outcome
        group.clear()

    for k in placement_order(tasks):
        task = tasks[k]
        if (use_batches and batchable(task)) or (use_kernel and single_shape(task)):
            group.append(k)
            continue
        flush()
        request = resource_vector(task.workload.requests, index.resources)
        previous = replicas_vector(index.position, index.size, task.current)
        outcome = place_workload(
            index,
            task.workload,
            task.policy,
            free=free,
            request=request,
            previous=previous,
            placed=placed,
            registry=registry,
            cache=cache,
            explain=explain,
            policy_changed=task.policy_changed,
        )
        if mode != "independent":
            new = np.zeros(index.size, dtype=np.int64)
            new[outcome.clusters] = outcome.replicas
            changed = np.flatnonzero(new != previous)
            if changed.size:
                free[changed] -= (new[changed] - previous[changed])[:, None] * request[None, :]
            placed[outcome.clusters[outcome.replicas > 0]] += 1
        if task.policy.replica_strategy != "Duplicated" and outcome.clusters.size > 1:
            # Keep only clusters that run replicas: a divided outcome covers every selected
            # cluster, and 100k of them over 5k clusters would otherwise hold gigabytes.
            used = outcome.replicas > 0
            outcome = replace(outcome, clusters=outcome.clusters[used], replicas=outcome.replicas[used])
        out[k] = outcome
    flush()
    return _assignment(index, tasks, [o for o in out if o is not None])


def place(
    fleet: FleetIndex | Fleet | Sequence[Cluster],
    workload: Workload,
    policy: PlacementPolicy | None = None,
    *,
    current: Mapping[str, int] | None = None,
    explain: bool = False,
    policy_changed: bool = False,
) -> Decision:
    """Place a single workload (a batch of one); ``policy_changed`` as in ``PlacementTask``."""
    task = PlacementTask(
        workload, policy or PlacementPolicy(), current=dict(current or {}), policy_changed=policy_changed
    )
    return place_batch(fleet, [task], explain=explain)[0]
